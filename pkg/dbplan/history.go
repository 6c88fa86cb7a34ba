package dbplan

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// History is a database's samples, oldest first.
type History []Sample

// HistoryError is a line of a history or import file that cannot be used.
type HistoryError struct {
	File string
	Line int
	Msg  string
}

func (e *HistoryError) Error() string {
	return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
}

var historyHeader = []string{"time", "database_bytes", "disk_bytes", "wal_bytes", "source", "tables"}

// HistoryPath is where a database's history is kept: beside the stack's
// state, one file per stack and database, so that a sandbox rehearsal
// never mixes with production.
func HistoryPath(stackDir, stack, database string) string {
	return filepath.Join(stackDir, "history", stack, database+".csv")
}

// LoadHistory reads a history file; a missing file is an empty history.
func LoadHistory(path string) (History, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var h History
	line, first := 0, 1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return nil, &HistoryError{File: path, Line: line, Msg: err.Error()}
		}
		if line == 1 && len(rec) > 0 && rec[0] == historyHeader[0] {
			first = 2
			continue
		}
		// Histories written before the tables were kept have five fields.
		if len(rec) != len(historyHeader) && len(rec) != len(historyHeader)-1 {
			return nil, &HistoryError{File: path, Line: line, Msg: fmt.Sprintf("expected %d fields (%s), found %d", len(historyHeader), strings.Join(historyHeader, ","), len(rec))}
		}
		s := Sample{Source: rec[4]}
		if len(rec) == len(historyHeader) && rec[5] != "" {
			if s.Tables, err = parseTables(rec[5]); err != nil {
				return nil, &HistoryError{File: path, Line: line, Msg: err.Error()}
			}
		}
		if s.Time, err = time.Parse(time.RFC3339, rec[0]); err != nil {
			return nil, &HistoryError{File: path, Line: line, Msg: fmt.Sprintf("time %q is not RFC 3339", rec[0])}
		}
		for i, dst := range []*int64{&s.DatabaseBytes, &s.DiskBytes, &s.WALBytes} {
			if *dst, err = strconv.ParseInt(rec[i+1], 10, 64); err != nil {
				return nil, &HistoryError{File: path, Line: line, Msg: fmt.Sprintf("%s %q is not a whole number of bytes", historyHeader[i+1], rec[i+1])}
			}
		}
		h = append(h, s)
	}
	if err := h.ordered(path, first); err != nil {
		return nil, err
	}
	return h, nil
}

// ordered refuses dates out of order or repeated: a fit over them would
// be silently wrong. first is the line number of the first sample.
func (h History) ordered(file string, first int) error {
	for i := 1; i < len(h); i++ {
		if !h[i].Time.After(h[i-1].Time) {
			word := "comes before"
			if h[i].Time.Equal(h[i-1].Time) {
				word = "repeats"
			}
			return &HistoryError{File: file, Line: first + i, Msg: fmt.Sprintf("%s %s %s on the line above; samples must be in date order, once each",
				h[i].Time.Format(time.DateOnly), word, h[i-1].Time.Format(time.DateOnly))}
		}
	}
	return nil
}

// formatTables writes a sample's tables as one CSV field a person can
// still read: name=bytes pairs joined by &, names query-escaped (a
// quoted identifier may hold any character), in name order.
func formatTables(t map[string]int64) string {
	v := url.Values{}
	for n, b := range t {
		v.Set(n, strconv.FormatInt(b, 10))
	}
	return v.Encode()
}

func parseTables(field string) (map[string]int64, error) {
	v, err := url.ParseQuery(field)
	if err != nil {
		return nil, fmt.Errorf("tables: %q is not name=bytes pairs joined by &", field)
	}
	out := map[string]int64{}
	for name, sizes := range v {
		n, err := strconv.ParseInt(sizes[len(sizes)-1], 10, 64)
		if name == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("tables: the size of %q is not a whole number of bytes", name)
		}
		out[name] = n
	}
	return out, nil
}

// OutOfLine says whether a size is under a third or over three times the
// last one: no database grows or shrinks that much between two looks,
// but two databases of one cluster differ that much.
func OutOfLine(size, last int64) bool {
	return last > 0 && (size*3 < last || size > last*3)
}

// Save writes the whole history, replacing the file atomically so that an
// interrupted write never loses earlier samples.
func (h History) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".history-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	_ = w.Write(historyHeader)
	for _, s := range h {
		_ = w.Write([]string{s.Time.UTC().Format(time.RFC3339), strconv.FormatInt(s.DatabaseBytes, 10),
			strconv.FormatInt(s.DiskBytes, 10), strconv.FormatInt(s.WALBytes, 10), s.Source, formatTables(s.Tables)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Merge adds samples, keeping date order; a sample at a time the history
// already holds replaces it (re-importing a file is harmless).
func (h History) Merge(add ...Sample) History {
	byTime := map[int64]Sample{}
	for _, s := range h {
		byTime[s.Time.Unix()] = s
	}
	for _, s := range add {
		byTime[s.Time.Unix()] = s
	}
	out := make(History, 0, len(byTime))
	for _, s := range byTime {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Import reads a CSV of date and size from before the tool measured:
// "2025-11-01,64.2 GB" or "2025-11-01T00:00:00Z,68934412288", and an
// optional third field, the disk. One header line may come first; a size
// column it names with a unit ("size_gb", "size (GiB)") is the unit of
// that column's bare numbers. Dates must be in order, once each, and not
// after now; the error names the line and nothing is kept.
func Import(name string, r io.Reader, now time.Time) (History, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var h History
	var lines []int
	header, units := false, [2]string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, &HistoryError{File: name, Line: line, Msg: err.Error()}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < 2 || len(rec) > 3 {
			return nil, &HistoryError{File: name, Line: line, Msg: fmt.Sprintf("expected a date, a size and optionally the disk, e.g. 2025-11-01,64.2 GB,100 GB; this line has %d fields", len(rec))}
		}
		t, terr := parseDate(rec[0])
		if !header && len(h) == 0 && terr != nil {
			if _, serr := ParseSize(rec[1]); serr != nil {
				header = true // the one header line
				units[0] = unitOf(rec[1])
				if len(rec) > 2 {
					units[1] = unitOf(rec[2])
				}
				continue
			}
		}
		if terr != nil {
			return nil, &HistoryError{File: name, Line: line, Msg: terr.Error()}
		}
		if t.After(now) {
			return nil, &HistoryError{File: name, Line: line, Msg: fmt.Sprintf("%s is in the future", t.Format(time.DateOnly))}
		}
		size, serr := parseSizeIn(rec[1], units[0])
		if serr != nil {
			return nil, &HistoryError{File: name, Line: line, Msg: serr.Error()}
		}
		s := Sample{Time: t, DatabaseBytes: size, WALBytes: -1, Source: "imported"}
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			if s.DiskBytes, err = parseSizeIn(rec[2], units[1]); err != nil {
				return nil, &HistoryError{File: name, Line: line, Msg: "disk: " + err.Error()}
			}
		}
		h = append(h, s)
		lines = append(lines, line)
	}
	if len(h) == 0 {
		return nil, &HistoryError{File: name, Line: 1, Msg: "no samples: expected lines of a date and a size, e.g. 2025-11-01,64.2 GB"}
	}
	for i := 1; i < len(h); i++ {
		if err := (History{h[i-1], h[i]}).ordered(name, lines[i]-1); err != nil {
			return nil, err
		}
	}
	return h, nil
}

var headerUnit = regexp.MustCompile(`(?i)(?:^|[_\s(\[-])([kmgt]i?b|bytes?)\)?\]?\s*$`)

// unitOf is the unit a header's column name gives its numbers: "size_gb"
// is GB, "size (GiB)" GiB, "bytes" bytes; "" when it names none.
func unitOf(col string) string {
	m := headerUnit.FindStringSubmatch(strings.TrimSpace(col))
	if m == nil || strings.HasPrefix(strings.ToLower(m[1]), "byte") {
		return ""
	}
	return m[1]
}

// parseSizeIn reads a size, bare numbers in unit when the header gave
// one. A bare number with a fraction and no unit cannot be bytes.
func parseSizeIn(s, unit string) (int64, error) {
	bare := strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(bare, 64); err == nil {
		if unit != "" {
			return ParseSize(bare + " " + unit)
		}
		if strings.Contains(bare, ".") {
			return 0, fmt.Errorf("size %q has a fraction but no unit: bytes come whole; write 64.2 GB, or name the unit in the header (size_gb)", bare)
		}
	}
	return ParseSize(s)
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, time.DateOnly, "2006-01-02 15:04:05", "2006-01"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD (or RFC 3339)", s)
}

var sizeRE = regexp.MustCompile(`^(?i)\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b?|b)?\s*$`)

// ParseSize reads a size in bytes or with a unit: "68934412288", "64.2 GB",
// "60G", "61440 MiB". Decimal units are powers of 1000, binary ones of 1024.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("size %q is not a number of bytes or a size like 64.2 GB", strings.TrimSpace(s))
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	unit := strings.ToLower(m[2])
	mult := 1.0
	if unit != "" && unit != "b" {
		base := 1000.0
		if strings.Contains(unit, "i") {
			base = 1024
		}
		for _, p := range "kmgt" {
			mult *= base
			if rune(unit[0]) == p {
				break
			}
		}
	}
	if b := v * mult; b >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is larger than any disk", strings.TrimSpace(s))
	}
	return int64(v * mult), nil
}
