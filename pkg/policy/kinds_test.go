package policy_test

// The provider kinds register themselves, as in the program.
import _ "github.com/cosocial/cosocial/pkg/provider/all"
