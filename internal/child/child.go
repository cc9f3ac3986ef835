// Package child runs a command as a transparent child: the command has the
// terminal, its signals and its exit status, as if the shell had started
// it, while the parent goes on with its own work (idcsctl exec keeps an OCI
// session fresh beside it).
//
// Every signal the parent is sent reaches the child exactly once. On Unix
// the child runs in a process group of its own and, when the parent owns
// the terminal, that group becomes the terminal's foreground: keys such as
// Ctrl-C and Ctrl-\ then reach the child from the terminal alone, and the
// signals sent to the parent (kill, a CI runner stopping a job, a signal to
// the parent's process group) are passed on once. Passing on a Ctrl-C that
// the child also got from the terminal would make programs such as
// Terraform, for which a second interrupt means "stop now, whatever the
// state", abandon their work half done.
package child
