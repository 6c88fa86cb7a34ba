package remote

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// writeScript replaces $1 atomically: the data arrives on stdin into a
// temporary file beside it (created 0600 by mktemp, so a secret is never
// readable by others, even for a moment), is checked for length, given
// the mode and the old file's owner (the app's user must still read its
// .env after root rewrote it), flushed, and renamed over the old file. A
// symlink is followed, so the file it points to is the one replaced. It
// runs under sh whatever the login shell is.
const writeScript = `set -e
p=$1
if [ -L "$p" ]; then p=$(readlink -f -- "$p"); fi
d=$(dirname -- "$p")
t=$(mktemp "$d/.$(basename -- "$p").cosocial-XXXXXXXX")
trap 'rm -f -- "$t"' EXIT
cat > "$t"
n=$(wc -c < "$t" | tr -d ' ')
if [ "$n" -ne "$3" ]; then echo "received $n of $3 bytes" >&2; exit 1; fi
chmod "$2" "$t"
if [ -e "$p" ]; then chown --reference="$p" -- "$t"; fi
sync -- "$t" 2>/dev/null || sync
mv -f -- "$t" "$p"
trap - EXIT
sync -- "$d" 2>/dev/null || true
`

// missingStatus is the exit status readScript uses for a missing file.
const missingStatus = 66

const readScript = `if [ ! -e "$1" ]; then exit 66; fi
exec cat -- "$1"
`

// WriteFile replaces the remote file at path with data, atomically: a
// reader sees the old file or the new one, never a part. The data travels
// on the session's input, never on a command line. An existing file keeps
// its owner and group.
func (c *Client) WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	if path == "" {
		return errors.New("remote WriteFile: no path")
	}
	cmd := "sh -c " + ShellQuote(writeScript) + " cosocial-write " + ShellQuote(path) + " " +
		strconv.FormatUint(uint64(mode.Perm()), 8) + " " + strconv.Itoa(len(data))
	_, _, err := c.run(ctx, cmd, "write "+path, bytes.NewReader(data))
	return err
}

// ReadFile returns the remote file's contents. A missing file is an error
// matching fs.ErrNotExist.
func (c *Client) ReadFile(ctx context.Context, path string) ([]byte, error) {
	cmd := "sh -c " + ShellQuote(readScript) + " cosocial-read " + ShellQuote(path)
	out, _, err := c.run(ctx, cmd, "read "+path, nil)
	var exit *ExitError
	if errors.As(err, &exit) && exit.Status == missingStatus {
		return nil, &fs.PathError{Op: "read", Path: c.name + ":" + path, Err: fs.ErrNotExist}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ShellQuote makes s one word for a POSIX shell, whatever it holds.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
