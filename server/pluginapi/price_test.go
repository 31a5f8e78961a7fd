package pluginapi

import "testing"

func TestPriceOfPrefersExactThenLongestPrefix(t *testing.T) {
	prices := []ModelPrice{{Model: "gpt-4o*", Input: 1}, {Model: "gpt-4o-mini*", Input: 2}, {Model: "gpt-4o-mini-x", Input: 3}, {Model: "g*", Input: 4}}
	for model, want := range map[string]float64{"gpt-4o-mini-2024": 2, "gpt-4o-mini-x": 3, "gpt-4o-2024": 1, "gemini": 4} {
		p, ok := PriceOf(prices, model)
		if !ok || p.Input != want {
			t.Errorf("PriceOf(%q) = %v %v, want input %v", model, p, ok, want)
		}
	}
	if _, ok := PriceOf(prices, "claude"); ok {
		t.Error("claude has no price")
	}
}

func TestCostMicrosIsTokensTimesPriceRoundedUp(t *testing.T) {
	mini := ModelPrice{Model: "gpt-4o-mini*", Input: 0.15, Output: 0.6, CachedInput: 0.075}
	for _, c := range []struct {
		name                  string
		p                     ModelPrice
		input, cached, output int64
		want                  int64
	}{
		// 1500 × 0.15 is 225.00000000000003 in floats: still 225 micros.
		{"exact", mini, 1500, 0, 300, 225 + 180},
		{"cached input at its own price", mini, 1000, 400, 0, 600*0.15 + 400*0.075},
		{"rounded up", mini, 1, 0, 0, 1},
		{"cached at the input price when it has none", ModelPrice{Input: 2, Output: 8}, 100, 50, 10, 200 + 80},
		{"cached never more than input", ModelPrice{Input: 2, CachedInput: 1}, 10, 50, 0, 10},
	} {
		if got := c.p.CostMicros(c.input, c.cached, c.output); got != c.want {
			t.Errorf("%s: CostMicros = %d, want %d", c.name, got, c.want)
		}
	}
	hi := HighestPrice([]ModelPrice{{Input: 3, Output: 4}, {Input: 1, Output: 15}})
	if hi != (ModelPrice{Input: 3, Output: 15, CachedInput: 3}) {
		t.Errorf("HighestPrice = %+v", hi)
	}
}
