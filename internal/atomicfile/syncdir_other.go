//go:build !unix

package atomicfile

// SyncDir does nothing: Go cannot open a folder for flushing on Windows, and
// NTFS journals the rename's metadata itself.
func SyncDir(string) error { return nil }
