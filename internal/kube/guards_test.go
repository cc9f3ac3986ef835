package kube

import (
	"strings"
	"testing"
)

// SetUser keeps the comments on a value it replaces (docs/kubernetes.md:
// "everything else, comments included, is kept"): a context's user, and
// the comment on the user entry it rewrites.
func TestSetUserKeepsTheCommentsOnWhatItReplaces(t *testing.T) {
	src := "kind: Config\ncontexts:\n- name: prod\n  context:\n    cluster: c\n    # who signs in\n    user: alice # the team account\n" +
		"users:\n- name: idcs\n  # the SSO entry\n  user: # replaced by idcsctl\n    token: stale\n"
	out, err := SetUser([]byte(src), Entry{User: "idcs", Exec: testExec, Context: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"user: idcs # the team account", "# who signs in", "# the SSO entry", "# replaced by idcsctl"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lost %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "stale") || strings.Contains(string(out), "alice") {
		t.Errorf("the replaced values are still there:\n%s", out)
	}
}
