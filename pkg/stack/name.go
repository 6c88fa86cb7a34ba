package stack

import (
	"fmt"
	"strconv"
)

// maxNameLength is the engine's own limit on a stack's name.
const maxNameLength = 100

// ValidName checks a stack's name before it is used anywhere: it becomes
// a folder under .cosocial and a name the engine records, so a name that
// could climb out of that folder ("../x"), hold a separator, a space, a
// shell character or a letter outside ASCII is refused here, in the
// tool's words, before any folder is made.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("the stack name is empty: use letters, digits, '-', '_' and '.', as in --stack production")
	}
	if len(name) > maxNameLength {
		return fmt.Errorf("the stack name is %d characters long: at most %d are allowed", len(name), maxNameLength)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("the stack name %s has %s at position %d: use only letters, digits, '-', '_' and '.'", strconv.QuoteToASCII(name), strconv.QuoteRuneToASCII(r), i+1)
		}
	}
	if name[0] == '.' {
		return fmt.Errorf("the stack name %q starts with '.': start it with a letter or digit", name)
	}
	return nil
}
