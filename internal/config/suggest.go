package config

import "slices"

// Suggest returns the names among known that name was probably meant to
// be: those within one edit of it (two for names longer than four), an
// edit being a letter added, dropped, changed or two letters swapped, or
// those that start with it; closest first.
// It is what "did you mean ...?" offers for a mistyped profile.
func Suggest(name string, known []string) []string {
	type scored struct {
		name string
		d    int
	}
	var out []scored
	for _, k := range known {
		d := editDistance(name, k)
		if d <= 1 || d == 2 && len(name) > 4 || len(name) >= 2 && len(k) > len(name) && k[:len(name)] == name {
			out = append(out, scored{k, d})
		}
	}
	slices.SortStableFunc(out, func(a, b scored) int { return a.d - b.d })
	names := make([]string, len(out))
	for i, s := range out {
		names[i] = s.name
	}
	return names
}

// editDistance is the optimal string alignment distance of two profile
// names (short ASCII strings): Levenshtein's, with a swap of two neighbours
// counted as one edit, the commonest typo.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
