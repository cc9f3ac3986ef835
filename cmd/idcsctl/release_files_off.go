//go:build !releasefiles

package main

// releaseCommands are the commands only the release build has: none in the
// binary people run (see release_files.go).
func releaseCommands() []subcommand { return nil }
