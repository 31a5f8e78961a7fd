package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// config is Higress's ai-prompt-decorator config.
type config struct {
	Prepend []message     `json:"prepend"`
	Append  []message     `json:"append"`
	Replace []replaceRule `json:"replace"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type replaceRule struct {
	Pattern     string `json:"pattern"`
	Replacement string `json:"replacement"`
	OnRole      string `json:"on_role"`
	Regex       bool   `json:"regex"`

	re *regexp.Regexp
}

// apply rewrites s.
func (r *replaceRule) apply(s string) string {
	if r.re != nil {
		return r.re.ReplaceAllString(s, r.Replacement)
	}
	return strings.ReplaceAll(s, r.Pattern, r.Replacement)
}

func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, list := range []struct {
		name string
		msgs []message
	}{{"prepend", c.Prepend}, {"append", c.Append}} {
		for i, m := range list.msgs {
			field := fmt.Sprintf("%s[%d]", list.name, i)
			switch m.Role {
			case "system", "developer", "user", "assistant":
			case "":
				bad(field+".role", "is required: system, developer, user or assistant")
			default:
				bad(field+".role", "%q is not one of system, developer, user, assistant", m.Role)
			}
			if m.Content == "" {
				bad(field+".content", "is required: the message's text")
			}
		}
	}
	for i := range c.Replace {
		r := &c.Replace[i]
		field := fmt.Sprintf("replace[%d]", i)
		if r.Pattern == "" {
			bad(field+".pattern", "is required: the text to find")
			continue
		}
		if r.Regex {
			re, err := regexp.Compile(r.Pattern)
			if err != nil {
				bad(field+".pattern", "is not an RE2 regular expression: %v", err)
				continue
			}
			r.re = re
		}
	}
	return errors.Join(errs...)
}
