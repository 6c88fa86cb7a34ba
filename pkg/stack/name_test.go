package stack_test

import (
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/stack"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"production", "staging-2", "ca_east", "v1.2", "A"} {
		if err := stack.ValidName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for name, want := range map[string]string{
		"":                       "empty",
		"../../../target/victim": "'/' at position 3",
		"a/b":                    `'/' at position 2`,
		"prod;rm":                `';' at position 5`,
		"a b":                    `' ' at position 2`,
		"prödúction":             `'\u00f6' at position 3`,
		"..":                     "starts with '.'",
		"x\x1b[31m":              `'\x1b' at position 2`,
		strings.Repeat("a", 101): "101 characters",
	} {
		err := stack.ValidName(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", name, err, want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x1b") {
			t.Errorf("%q: the error echoes a control byte: %q", name, err)
		}
	}
}
