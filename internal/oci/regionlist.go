package oci

import (
	"slices"
	"strings"
)

// Regions lists the OCI regions the OCI Go SDK knows, sorted. idcsctl does
// not link the SDK (only idcsctl-ocisign does, so that idcsctl starts
// fast): regions.go is generated from the SDK's list, and
// TestRegionsMatchTheSDK fails when the two differ.
func Regions() []string { return strings.Fields(regionList) }

// KnownRegion reports whether the OCI Go SDK knows region. An unknown one
// may still be new: callers warn, they do not refuse.
func KnownRegion(region string) bool {
	return region != "" && slices.Contains(Regions(), region)
}
