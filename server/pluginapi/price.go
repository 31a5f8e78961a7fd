package pluginapi

import (
	"math"
	"strings"
)

// ModelPrice is what a model costs, in USD per million tokens, as the
// host's model prices give it to the ai-consumer plugin. Model is an exact
// model name or a prefix ending in "*".
type ModelPrice struct {
	Model       string  `json:"model"`
	Input       float64 `json:"input"`
	Output      float64 `json:"output"`
	CachedInput float64 `json:"cachedInput,omitempty"`
}

// MatchModel returns the index of the pattern among n patterns (pattern(i)
// is the i-th: an exact model name or "prefix*") that names model: an
// exact match wins, else the longest matching prefix; -1 when none does.
// Model prices and consumers' allowedModels both match this way.
func MatchModel(n int, pattern func(i int) string, model string) int {
	best, bestLen := -1, -1
	for i := range n {
		p := pattern(i)
		if p == model {
			return i
		}
		if pre, ok := strings.CutSuffix(p, "*"); ok && len(pre) > bestLen && strings.HasPrefix(model, pre) {
			best, bestLen = i, len(pre)
		}
	}
	return best
}

// PriceOf returns the price of model among prices: the exact match, else
// the longest matching prefix.
func PriceOf(prices []ModelPrice, model string) (ModelPrice, bool) {
	i := MatchModel(len(prices), func(i int) string { return prices[i].Model }, model)
	if i < 0 {
		return ModelPrice{}, false
	}
	return prices[i], true
}

// HighestPrice is the highest input and the highest output price of
// prices (cached input at the input price): what a model without a price
// is counted at, so that it is never free.
func HighestPrice(prices []ModelPrice) ModelPrice {
	var hi ModelPrice
	for _, p := range prices {
		hi.Input = max(hi.Input, p.Input)
		hi.Output = max(hi.Output, p.Output)
	}
	hi.CachedInput = hi.Input
	return hi
}

// CostMicros is what tokens cost at p, in micro-dollars, rounded up:
// (input − cached) × Input + cached × CachedInput (Input when CachedInput
// is 0) + output × Output. input includes cached. Prices are per million
// tokens, so tokens × price is micro-dollars exactly; only the float
// noise of that product is ignored before rounding up.
func (p ModelPrice) CostMicros(input, cached, output int64) int64 {
	cachedPrice := p.CachedInput
	if cachedPrice == 0 {
		cachedPrice = p.Input
	}
	cached = min(max(cached, 0), max(input, 0))
	v := float64(input-cached)*p.Input + float64(cached)*cachedPrice + float64(output)*p.Output
	if r := math.Round(v); math.Abs(v-r) < 1e-6 {
		return int64(r)
	}
	return int64(math.Ceil(v))
}
