-- The sandbox's stand-in for aiven_extras, the extension managed
-- PostgreSQL on Aiven's platform (OVHcloud's among them) offers so that
-- its admin, who is no superuser, can still use logical replication. It
-- has the subscription functions the tool calls, with the extension's
-- names and arguments, and behaves as they are documented to: they run
-- as the superuser who installed them, create_slot is never used inside
-- them (the slot is made beforehand, or through dblink), and dropping a
-- subscription also drops its slot at the publisher, which fails while a
-- walsender still holds it. Written for the sandbox, not taken from the
-- extension.
CREATE SCHEMA IF NOT EXISTS aiven_extras;
GRANT USAGE ON SCHEMA aiven_extras TO PUBLIC;
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA aiven_extras;
-- dblink's own functions stay the superuser's: a login calling them
-- directly would reach other servers as this one.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA aiven_extras FROM PUBLIC;

CREATE OR REPLACE FUNCTION aiven_extras.pg_create_subscription(
    arg_subscription_name text, arg_connection_string text, arg_publication_name text,
    arg_slot_name text, arg_slot_create boolean DEFAULT false, arg_copy_data boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, aiven_extras AS $fn$
BEGIN
    IF arg_slot_create THEN
        PERFORM * FROM aiven_extras.dblink(arg_connection_string,
            format('SELECT lsn::text FROM pg_create_logical_replication_slot(%L, %L)', arg_slot_name, 'pgoutput')) AS made(lsn text);
    END IF;
    EXECUTE format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %I WITH (slot_name = %L, create_slot = false, copy_data = %s)',
        arg_subscription_name, arg_connection_string, arg_publication_name, arg_slot_name, arg_copy_data::text);
END
$fn$;

CREATE OR REPLACE FUNCTION aiven_extras.pg_alter_subscription_enable(arg_subscription_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, aiven_extras AS $fn$
BEGIN
    EXECUTE format('ALTER SUBSCRIPTION %I ENABLE', arg_subscription_name);
END
$fn$;

CREATE OR REPLACE FUNCTION aiven_extras.pg_alter_subscription_disable(arg_subscription_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, aiven_extras AS $fn$
BEGIN
    EXECUTE format('ALTER SUBSCRIPTION %I DISABLE', arg_subscription_name);
END
$fn$;

CREATE OR REPLACE FUNCTION aiven_extras.pg_drop_subscription(arg_subscription_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, aiven_extras AS $fn$
DECLARE
    conninfo text;
    slot text;
BEGIN
    SELECT s.subconninfo, s.subslotname INTO conninfo, slot
        FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
        WHERE s.subname = arg_subscription_name AND d.datname = current_database();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no subscription named %', arg_subscription_name;
    END IF;
    EXECUTE format('ALTER SUBSCRIPTION %I DISABLE', arg_subscription_name);
    EXECUTE format('ALTER SUBSCRIPTION %I SET (slot_name = NONE)', arg_subscription_name);
    EXECUTE format('DROP SUBSCRIPTION %I', arg_subscription_name);
    IF slot IS NOT NULL THEN
        PERFORM * FROM aiven_extras.dblink(conninfo,
            format('SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = %L', slot)) AS dropped(n bigint);
    END IF;
END
$fn$;

GRANT EXECUTE ON FUNCTION
    aiven_extras.pg_create_subscription(text, text, text, text, boolean, boolean),
    aiven_extras.pg_alter_subscription_enable(text),
    aiven_extras.pg_alter_subscription_disable(text),
    aiven_extras.pg_drop_subscription(text)
TO PUBLIC;
