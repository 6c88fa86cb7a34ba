package ossim

import (
	"crypto/rand"
	"sort"
	"time"
)

// state is every record the simulator keeps, saved as JSON between runs.
// It holds EC2 secrets (Keystone shows them on every read) and the key
// that signs tokens, so that a token issued before a restart still works
// after it, as Keystone's fernet tokens do.
type state struct {
	// Seq orders records by creation and numbers addresses.
	Seq        int64                     `json:"seq"`
	TokenKey   []byte                    `json:"token_key"`
	Servers    map[string]*serverRec     `json:"servers"`
	Volumes    map[string]*volumeRec     `json:"volumes"`
	Keypairs   map[string]*keypairRec    `json:"keypairs"`
	Groups     map[string]*groupRec      `json:"security_groups"`
	Rules      map[string]*ruleRec       `json:"security_group_rules"`
	Ports      map[string]*portRec       `json:"ports"`
	Zones      map[string]*zoneRec       `json:"zones"`
	RecordSets map[string]*recordSetRec  `json:"recordsets"`
	EC2        map[string]*ec2Credential `json:"ec2_credentials"`
	// Buckets are read from a state saved before the object store's
	// gateway kept bucket owners, and handed to it.
	Buckets []string `json:"buckets,omitempty"`
}

func newState() *state { return &state{} }

// init fills what a saved state may lack: the maps, the token key, and
// the security group named default that Neutron gives every project.
func (st *state) init(project string, now time.Time) {
	if st.Servers == nil {
		st.Servers = map[string]*serverRec{}
	}
	if st.Volumes == nil {
		st.Volumes = map[string]*volumeRec{}
	}
	if st.Keypairs == nil {
		st.Keypairs = map[string]*keypairRec{}
	}
	if st.Groups == nil {
		st.Groups = map[string]*groupRec{}
	}
	if st.Rules == nil {
		st.Rules = map[string]*ruleRec{}
	}
	if st.Ports == nil {
		st.Ports = map[string]*portRec{}
	}
	if st.Zones == nil {
		st.Zones = map[string]*zoneRec{}
	}
	if st.RecordSets == nil {
		st.RecordSets = map[string]*recordSetRec{}
	}
	if st.EC2 == nil {
		st.EC2 = map[string]*ec2Credential{}
	}
	if len(st.TokenKey) == 0 {
		st.TokenKey = make([]byte, 32)
		rand.Read(st.TokenKey)
	}
	id := stableID("security-group", project, "default")
	if st.Groups[id] == nil {
		st.Groups[id] = &groupRec{ID: id, Name: "default", Description: "Default security group", Stateful: true, Created: now, Updated: now}
		// Neutron's default rules: everything out, and in from members
		// of the group only.
		for _, eth := range []string{"IPv4", "IPv6"} {
			out := &ruleRec{ID: stableID("rule", id, "egress", eth), Group: id, Direction: "egress", EtherType: eth, Created: now}
			in := &ruleRec{ID: stableID("rule", id, "ingress", eth), Group: id, Direction: "ingress", EtherType: eth, RemoteGroup: &id, Created: now}
			st.Rules[out.ID], st.Rules[in.ID] = out, in
		}
	}
}

func (s *Server) next() int64 {
	s.st.Seq++
	return s.st.Seq
}

// phase is an asynchronous status: Status now, Next from Until on. A
// Next of gone removes the record.
type phase struct {
	Status string    `json:"status"`
	Next   string    `json:"next,omitempty"`
	Until  time.Time `json:"until,omitzero"`
}

const gone = "-gone-"

func (p *phase) set(status, next string, d time.Duration, now time.Time) {
	p.Status, p.Next, p.Until = status, next, now.Add(d)
}

func (p *phase) due(now time.Time) bool { return p.Next != "" && !now.Before(p.Until) }

func (p *phase) deleting() bool { return p.Next == gone }

type serverRec struct {
	ID             string            `json:"id"`
	Seq            int64             `json:"seq"`
	Name           string            `json:"name"`
	Flavor         string            `json:"flavor"`
	OldFlavor      string            `json:"old_flavor,omitempty"`
	Image          string            `json:"image,omitempty"` // "" when it boots from a volume
	KeyName        string            `json:"key_name,omitempty"`
	SecurityGroups []string          `json:"security_groups"` // names, as Nova shows them
	HasUserData    bool              `json:"has_user_data"`   // user data may hold secrets: only whether it was given is kept
	Metadata       map[string]string `json:"metadata"`
	Created        time.Time         `json:"created"`
	Updated        time.Time         `json:"updated"`
	Launched       time.Time         `json:"launched,omitzero"`
	Phase          phase             `json:"phase"`
	Ports          []string          `json:"ports"`
	Volumes        []attachment      `json:"volumes"`
}

type attachment struct {
	Volume              string `json:"volume"`
	Device              string `json:"device"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
	Tag                 string `json:"tag,omitempty"`
}

type volumeRec struct {
	ID          string            `json:"id"`
	Seq         int64             `json:"seq"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Size        int               `json:"size"`
	NewSize     int               `json:"new_size,omitempty"` // while extending
	Image       string            `json:"image,omitempty"`
	Metadata    map[string]string `json:"metadata"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated,omitzero"`
	Phase       phase             `json:"phase"`
	Attachment  *volAttachment    `json:"attachment,omitempty"`
}

type volAttachment struct {
	ID       string    `json:"id"`
	Server   string    `json:"server"`
	Device   string    `json:"device"`
	Attached time.Time `json:"attached"`
}

type keypairRec struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	Created     time.Time `json:"created"`
}

type groupRec struct {
	ID          string    `json:"id"`
	Seq         int64     `json:"seq"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Stateful    bool      `json:"stateful"`
	Revision    int       `json:"revision"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

type ruleRec struct {
	ID          string    `json:"id"`
	Seq         int64     `json:"seq"`
	Group       string    `json:"group"`
	Direction   string    `json:"direction"`
	EtherType   string    `json:"ethertype"`
	Protocol    *string   `json:"protocol,omitempty"`
	PortMin     *int      `json:"port_min,omitempty"`
	PortMax     *int      `json:"port_max,omitempty"`
	RemoteIP    *string   `json:"remote_ip,omitempty"`
	RemoteGroup *string   `json:"remote_group,omitempty"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
}

type portRec struct {
	ID             string    `json:"id"`
	Seq            int64     `json:"seq"`
	Server         string    `json:"server"`
	MAC            string    `json:"mac"`
	IPv4           string    `json:"ipv4"`
	IPv6           string    `json:"ipv6"`
	SecurityGroups []string  `json:"security_groups"` // IDs, as Neutron shows them
	Created        time.Time `json:"created"`
}

type zoneRec struct {
	ID          string    `json:"id"`
	Seq         int64     `json:"seq"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	TTL         int       `json:"ttl"`
	Description string    `json:"description"`
	Serial      int64     `json:"serial"`
	Version     int       `json:"version"`
	Action      string    `json:"action"`
	Phase       phase     `json:"phase"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated,omitzero"`
}

type recordSetRec struct {
	ID          string    `json:"id"`
	Seq         int64     `json:"seq"`
	Zone        string    `json:"zone"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Records     []string  `json:"records"`
	TTL         *int      `json:"ttl,omitempty"`
	Description string    `json:"description"`
	Version     int       `json:"version"`
	Action      string    `json:"action"`
	Phase       phase     `json:"phase"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated,omitzero"`
	// Managed records (SOA, NS) are Designate's own.
	Managed bool `json:"managed,omitempty"`
}

type ec2Credential struct {
	Access  string    `json:"access"`
	Secret  string    `json:"secret"`
	User    string    `json:"user"`
	Project string    `json:"project"`
	Created time.Time `json:"created"`
}

// advance brings every asynchronous status up to now, with what each
// step does to the records around it.
func (s *Server) advance(now time.Time) {
	changed := false
	for _, id := range sortedKeys(s.st.Servers) {
		sv := s.st.Servers[id]
		if !sv.Phase.due(now) {
			continue
		}
		changed = true
		if sv.Phase.deleting() {
			s.removeServer(sv, now)
			continue
		}
		if sv.Phase.Status == "BUILD" {
			sv.Launched = sv.Phase.Until
		}
		if sv.Phase.Status == "REVERT_RESIZE" {
			sv.Flavor, sv.OldFlavor = sv.OldFlavor, ""
		}
		sv.Phase = phase{Status: sv.Phase.Next}
		sv.Updated = now
	}
	for _, id := range sortedKeys(s.st.Volumes) {
		v := s.st.Volumes[id]
		if !v.Phase.due(now) {
			continue
		}
		changed = true
		switch {
		case v.Phase.deleting():
			delete(s.st.Volumes, id)
			continue
		case v.Phase.Status == "extending":
			v.Size, v.NewSize = v.NewSize, 0
		case v.Phase.Status == "detaching":
			v.Attachment = nil
		}
		v.Phase = phase{Status: v.Phase.Next}
		v.Updated = now
	}
	for _, id := range sortedKeys(s.st.Zones) {
		z := s.st.Zones[id]
		if !z.Phase.due(now) {
			continue
		}
		changed = true
		if z.Phase.deleting() {
			delete(s.st.Zones, id)
			for rid, rs := range s.st.RecordSets {
				if rs.Zone == id {
					delete(s.st.RecordSets, rid)
				}
			}
			continue
		}
		z.Phase, z.Action = phase{Status: z.Phase.Next}, "NONE"
	}
	for _, id := range sortedKeys(s.st.RecordSets) {
		rs := s.st.RecordSets[id]
		if !rs.Phase.due(now) {
			continue
		}
		changed = true
		if rs.Phase.deleting() {
			delete(s.st.RecordSets, id)
			continue
		}
		rs.Phase, rs.Action = phase{Status: rs.Phase.Next}, "NONE"
	}
	if changed {
		s.save()
	}
}

// removeServer ends a server's deletion: its ports go, volumes made to
// die with it are deleted, and the others are detached.
func (s *Server) removeServer(sv *serverRec, now time.Time) {
	for _, p := range sv.Ports {
		delete(s.st.Ports, p)
	}
	for _, a := range sv.Volumes {
		v := s.st.Volumes[a.Volume]
		if v == nil {
			continue
		}
		if a.DeleteOnTermination {
			delete(s.st.Volumes, v.ID)
			continue
		}
		v.Attachment, v.Phase, v.Updated = nil, phase{Status: "available"}, now
	}
	delete(s.st.Servers, sv.ID)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
