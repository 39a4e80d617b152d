// Package stack checks the observability stack's files against each other:
// docker-compose.yml, deploy/ and the flags of cmd/demo. The checks are its
// tests (`make stack`); they read files only, with no Docker and no network.
package stack

import (
	"fmt"
	"strings"
)

// MetricNames returns the metric names a PromQL expression reads, each once,
// in the order they first appear. It is a lexer, not a parser: enough to see
// which series a query names, so that a renamed metric fails here rather than
// as an empty graph. promtool checks the syntax itself where it is installed.
func MetricNames(expr string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	depth := 0
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{' || c == '[':
			// Label matchers and ranges: label names and durations, no metrics.
			end, err := skipUntil(expr, i, map[byte]byte{'{': '}', '[': ']'}[c])
			if err != nil {
				return nil, err
			}
			i = end
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("a ')' at offset %d closes nothing", i)
			}
			i++
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			// A number or a duration such as 5m: never a name.
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case c == '$':
			// A Grafana variable such as $__rate_interval.
			for i++; i < len(expr) && isIdent(expr[i]); i++ {
			}
		case isIdentStart(c):
			start := i
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := nextNonSpace(expr, i)
			switch {
			case groupingWords[strings.ToLower(word)]:
				// by (job, route): label names follow, not metrics.
				if next < len(expr) && expr[next] == '(' {
					end, err := skipUntil(expr, next, ')')
					if err != nil {
						return nil, err
					}
					i = end
				}
			case keywords[strings.ToLower(word)]:
			case next < len(expr) && expr[next] == '(':
				// A function or an aggregation.
			case !seen[word]:
				seen[word] = true
				names = append(names, word)
			}
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d '(' left open", depth)
	}
	return names, nil
}

var groupingWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// keywords are PromQL's reserved words: operators, modifiers and the
// aggregations, which `sum by (job) (...)` puts before a word, not a '('.
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true, "inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
}

func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("the string at offset %d is not closed", i)
}

// skipUntil returns the offset after the close that ends the bracket at i,
// stepping over strings, in which a close does not count.
func skipUntil(s string, i int, close byte) (int, error) {
	for j := i + 1; j < len(s); {
		switch s[j] {
		case '"', '\'', '`':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end
		case close:
			return j + 1, nil
		default:
			j++
		}
	}
	return 0, fmt.Errorf("the %q at offset %d is not closed", s[i], i)
}

func nextNonSpace(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
func isIdent(c byte) bool { return isIdentStart(c) || isDigit(c) }
