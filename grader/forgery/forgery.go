// Package forgery finds in a learner's file what only forging a grade needs.
//
// The grader believes what the test binary prints: test2json reads a line
// that starts with the byte 0x16 and says "--- PASS: TestX" as a passing
// test. So a file that prints such lines, links into package testing, or ends
// the process before the tests report can fake a grade. Solving a lab needs
// none of this, so each finding is worth a person's look. A finding is not
// proof, and no findings is not proof either: text built at run time, or read
// from elsewhere, is not seen here.
package forgery

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Finding is one thing in a file that forging a grade needs and solving the
// lab does not.
type Finding struct {
	File string // the name given to Scan
	Line int    // as written in the file: //line directives do not move it
	What string // `has a string with test-runner framing ("--- PASS")`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: a lab never needs this, so it is flagged for review", f.File, f.Line, f.What)
}

// Scan reports what in the Go source src, a file the learner edits, could
// forge a grade. A file that does not parse has no findings: it does not
// build, so it runs no tests, and the compiler says why.
func Scan(name string, src []byte) []Finding {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	s := &scan{fset: fset, name: name, main: f.Name.Name == "main",
		local: map[string]string{}, consts: map[string]ast.Expr{}}
	s.imports(f)
	s.directives(f)
	ast.Inspect(f, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok && len(v.Names) == len(v.Values) {
			for i, id := range v.Names {
				s.consts[id.Name] = v.Values[i] // vars too: folding them costs nothing and is rarely wrong
			}
		}
		return true
	})
	for _, d := range f.Decls {
		s.during = ""
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
			s.during = map[string]string{"init": "while the package initializes, before any test runs",
				"TestMain": "in TestMain, around the tests"}[fn.Name.Name]
		}
		ast.Inspect(d, s.visit)
	}
	slices.SortFunc(s.out, func(a, b Finding) int { return cmp.Or(cmp.Compare(a.Line, b.Line), strings.Compare(a.What, b.What)) })
	return slices.Compact(s.out) // one of each on a line is enough to look at
}

type scan struct {
	fset   *token.FileSet
	name   string
	main   bool
	local  map[string]string   // import name in this file -> import path
	dots   []string            // paths imported with "."
	consts map[string]ast.Expr // names declared with a value, for folding
	during string              // when the declaration being walked runs, if that matters
	out    []Finding
}

func (s *scan) add(pos token.Pos, format string, args ...any) {
	line := s.fset.PositionFor(pos, false).Line
	s.out = append(s.out, Finding{File: s.name, Line: line, What: fmt.Sprintf(format, args...)})
}

func (s *scan) imports(f *ast.File) {
	at := map[string]token.Pos{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		at[p] = im.Pos()
		name := path.Base(p)
		if im.Name != nil {
			name = im.Name.Name
		}
		switch name {
		case ".":
			s.dots = append(s.dots, p)
		case "_":
		default:
			s.local[name] = p
		}
	}
	if pos, ok := at["testing"]; ok {
		s.add(pos, `imports "testing", which only test files need`)
		if pos, ok := at["unsafe"]; ok {
			s.add(pos, `imports "unsafe" together with "testing", which lets it rewrite the test runner's state`)
		}
	}
	if pos, ok := at["C"]; ok {
		s.add(pos, `uses cgo (import "C"), whose C code this check cannot read`)
	}
}

func (s *scan) directives(f *ast.File) {
	for _, g := range f.Comments {
		for _, c := range g.List {
			switch fields := strings.Fields(c.Text); {
			case fields[0] == "//go:linkname" && len(fields) > 2 && strings.HasPrefix(fields[2], "testing."):
				s.add(c.Pos(), "has //go:linkname to %s, inside the test runner", fields[2])
			case fields[0] == "//go:linkname" && len(fields) > 2:
				s.add(c.Pos(), "has //go:linkname to %s", fields[2])
			case fields[0] == "//go:linkname":
				s.add(c.Pos(), "has a //go:linkname directive")
			case fields[0] == "//go:embed":
				s.add(c.Pos(), "embeds a file (//go:embed), whose text this check cannot read")
			}
		}
	}
}

// exits end the process; the test binary hooks only os.Exit (for
// -test.paniconexit0), so the others end it unseen.
var exits = map[string]bool{
	"syscall.Exit": true, "syscall.SYS_EXIT": true, "syscall.SYS_EXIT_GROUP": true,
	"unix.Exit": true, "unix.SYS_EXIT": true, "unix.SYS_EXIT_GROUP": true,
}

// replacers put another program in the test binary's place, which then
// exits as it likes.
var replacers = map[string]bool{"syscall.Exec": true, "unix.Exec": true, "syscall.SYS_EXECVE": true, "unix.SYS_EXECVE": true}

func (s *scan) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BasicLit:
		if v, err := strconv.Unquote(n.Value); err == nil && (n.Kind == token.STRING || n.Kind == token.CHAR) {
			s.text(n.Pos(), v)
		}
	case *ast.BinaryExpr:
		if n.Op == token.ADD {
			s.concat(n)
			return false
		}
	case *ast.CallExpr, *ast.CompositeLit:
		if v, ok := s.fold(n.(ast.Expr), 0); ok {
			s.text(n.Pos(), v)
			return false
		}
	case *ast.AssignStmt:
		for _, l := range n.Lhs {
			for ix, ok := l.(*ast.IndexExpr); ok; ix, ok = l.(*ast.IndexExpr) {
				l = ix.X
			}
			if s.ref(l) == "os.Args" {
				s.add(l.Pos(), "changes os.Args, which holds the test binary's flags")
			}
		}
	case *ast.SelectorExpr:
		s.use(n)
		if _, ok := n.X.(*ast.Ident); !ok {
			ast.Inspect(n.X, s.visit)
		}
		return false // Sel is not a name of its own, even with dot imports
	case *ast.Ident:
		s.use(n)
	}
	return true
}

func (s *scan) use(e ast.Expr) {
	switch r := s.ref(e); {
	case exits[r]:
		s.add(e.Pos(), "uses %s, which ends the process past the test runner's exit check", r)
	case replacers[r]:
		s.add(e.Pos(), "uses %s, which replaces the test binary with another program", r)
	case (r == "os.Exit" || r == "runtime.Goexit") && s.during != "":
		s.add(e.Pos(), "uses %s %s", r, s.during)
	case r == "os.Exit" && !s.main:
		s.add(e.Pos(), "uses os.Exit, which ends the test binary before its tests report")
	}
}

// ref names what e refers to in an imported package, as "os.Exit", or "".
func (s *scan) ref(e ast.Expr) string {
	short := func(p, name string) string { return path.Base(p) + "." + name }
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && s.local[x.Name] != "" {
			return short(s.local[x.Name], e.Sel.Name)
		}
	case *ast.Ident:
		for _, p := range s.dots {
			if r := short(p, e.Name); exits[r] || replacers[r] || r == "os.Exit" || r == "os.Args" || r == "runtime.Goexit" {
				return r
			}
		}
	}
	return ""
}

// concat checks each run of constant operands of a chain of + as one string,
// so that "--- PA" + "SS" is seen as what it prints.
func (s *scan) concat(e *ast.BinaryExpr) {
	var ops []ast.Expr
	var flatten func(ast.Expr)
	flatten = func(x ast.Expr) {
		for p, ok := x.(*ast.ParenExpr); ok; p, ok = x.(*ast.ParenExpr) {
			x = p.X
		}
		if b, ok := x.(*ast.BinaryExpr); ok && b.Op == token.ADD {
			flatten(b.X)
			flatten(b.Y)
		} else {
			ops = append(ops, x)
		}
	}
	flatten(e)
	var run strings.Builder
	start := token.NoPos
	for i, op := range ops {
		v, ok := s.fold(op, 0)
		if ok {
			if !start.IsValid() {
				start = op.Pos()
			}
			run.WriteString(v)
		} else {
			ast.Inspect(op, s.visit)
		}
		if (!ok || i == len(ops)-1) && start.IsValid() {
			s.text(start, run.String())
			run.Reset()
			start = token.NoPos
		}
	}
}

// fold returns the value of a string constant written in this file.
func (s *scan) fold(e ast.Expr, depth int) (string, bool) {
	if depth > 8 {
		return "", false
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		}
	case *ast.ParenExpr:
		return s.fold(e.X, depth+1)
	case *ast.Ident:
		if v, ok := s.consts[e.Name]; ok {
			return s.fold(v, depth+1)
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			l, ok := s.fold(e.X, depth+1)
			r, ok2 := s.fold(e.Y, depth+1)
			return l + r, ok && ok2
		}
	case *ast.CallExpr:
		if f, ok := e.Fun.(*ast.Ident); ok && f.Name == "string" && len(e.Args) == 1 {
			if r, ok := number(e.Args[0]); ok {
				return string(r), true
			}
			return s.fold(e.Args[0], depth+1)
		}
	case *ast.CompositeLit: // []byte{22, '-', '-'}
		t, ok := e.Type.(*ast.ArrayType)
		if !ok {
			return "", false
		}
		if elt, ok := t.Elt.(*ast.Ident); !ok || !slices.Contains(integers[:4], elt.Name) {
			return "", false
		}
		var rs []rune
		for _, x := range e.Elts {
			r, ok := number(x)
			if !ok {
				return "", false
			}
			rs = append(rs, r)
		}
		return string(rs), true
	}
	return "", false
}

// integers are the conversions number looks through; the first four are the
// elements of a slice that holds text.
var integers = []string{"byte", "uint8", "rune", "int32", "int", "int64", "uint", "uint32", "uint64", "uintptr"}

// number returns the value of an integer or rune constant, through
// conversions such as rune(22).
func number(e ast.Expr) (rune, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.INT {
			n, err := strconv.ParseInt(e.Value, 0, 32)
			return rune(n), err == nil
		}
		if v, err := strconv.Unquote(e.Value); e.Kind == token.CHAR && err == nil {
			return []rune(v)[0], true
		}
	case *ast.CallExpr:
		if f, ok := e.Fun.(*ast.Ident); ok && len(e.Args) == 1 && slices.Contains(integers, f.Name) {
			return number(e.Args[0])
		}
	}
	return 0, false
}

var (
	markers = []string{"--- PASS", "--- FAIL", "--- SKIP", "--- BENCH", "=== RUN", "=== CONT", "=== PAUSE", "=== NAME"}
	event   = regexp.MustCompile(`(?i)"action"\s*:\s*("(pass|fail|skip|run|start|output|bench|pause|cont)"|"?%[sqv]"?)`)
)

// text flags a string that the test runner or the grader would read as
// framing rather than output.
func (s *scan) text(pos token.Pos, v string) {
	if strings.ContainsRune(v, 0x16) {
		s.add(pos, "has a string with the byte 0x16, which starts test-runner framing")
		return
	}
	for _, m := range markers {
		if strings.Contains(v, m) {
			s.add(pos, "has a string with test-runner framing (%q)", m)
			return
		}
	}
	for _, l := range strings.Split(v, "\n") {
		l = strings.TrimSuffix(l, "\r")
		switch {
		case l == "PASS":
			s.add(pos, `has a string with test-runner framing ("PASS" on a line of its own)`)
			return
		case strings.HasPrefix(l, "ok  \t"), strings.HasPrefix(l, "FAIL\t"):
			s.add(pos, "has a string with test-runner framing (%q)", l[:5])
			return
		}
	}
	if m := event.FindString(v); m != "" {
		s.add(pos, "has a string shaped like a test2json event (%s)", m)
	}
}
