package harness

import (
	"cmp"
	"math"
	"slices"
)

// MannWhitneyZ returns the normal approximation of the Mann-Whitney U
// statistic of samples a against b, ties given their mean rank and the
// variance corrected for them: positive when a tends to be larger. The
// timing benchmarks and the mimic scanner report it for latencies of two
// kinds of answer (|z| over 3 at a thousand samples or more each tells
// them apart).
func MannWhitneyZ[T cmp.Ordered](a, b []T) float64 {
	type obs struct {
		v     T
		fromA bool
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(x, y obs) int { return cmp.Compare(x.v, y.v) })
	var rankA, tie float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		r := float64(i+j+1) / 2 // ranks i+1 .. j
		for k := i; k < j; k++ {
			if all[k].fromA {
				rankA += r
			}
		}
		t := float64(j - i)
		tie += t*t*t - t
		i = j
	}
	n1, n2 := float64(len(a)), float64(len(b))
	u := rankA - n1*(n1+1)/2
	n := n1 + n2
	sigma := math.Sqrt(n1 * n2 / 12 * (n + 1 - tie/(n*(n-1))))
	return (u - n1*n2/2) / sigma
}

// Median returns the median of xs (the upper one of an even count),
// leaving xs as it is.
func Median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
