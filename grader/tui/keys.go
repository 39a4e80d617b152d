package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
)

// keyMap is every key the TUI answers to, each declared once with the help
// text that the key bar and the full help (?) show. Screens match keys only
// through these bindings.
type keyMap struct {
	// Moving around.
	Up, Down         key.Binding
	PageUp, PageDown key.Binding
	HalfUp, HalfDown key.Binding
	Top, Bottom      key.Binding
	Open             key.Binding
	Back             key.Binding

	// Everywhere.
	Help, Quit, ForceQuit key.Binding

	// Home.
	Filter, FilterDone, FilterClear, FilterDelete key.Binding

	// Lab.
	RunAll, RunPart, Watch, WatchPart key.Binding
	WatchStop                         key.Binding
	Hint, CloseHint, Guide            key.Binding
	Edit, Reset                       key.Binding
	Yes, No                           key.Binding

	// Running.
	Stop key.Binding

	// Results.
	NextFailure, PrevFailure key.Binding
	Timeline                 key.Binding

	// Timeline.
	NextFault, PrevFault, JumpFailure key.Binding
}

func newKeyMap() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "b"}, "pgup/b", "page up"),
		PageDown: b([]string{"pgdown", "f", " "}, "pgdn/f", "page down"),
		HalfUp:   b([]string{"u", "ctrl+u"}, "u", "half a page up"),
		HalfDown: b([]string{"d", "ctrl+d"}, "d", "half a page down"),
		// g opens the guide, so the top is home or < (as in less); G
		// still goes to the bottom.
		Top:    b([]string{"home", "<"}, "home/<", "to the top"),
		Bottom: b([]string{"end", ">", "G"}, "end/>/G", "to the bottom"),
		Open:   b([]string{"enter"}, "enter", "open the lab"),
		Back:   b([]string{"esc"}, "esc", "back"),

		Help:      b([]string{"?"}, "?", "help"),
		Quit:      b([]string{"q"}, "q", "quit"),
		ForceQuit: b([]string{"ctrl+c"}, "ctrl+c", "quit (a run stops first)"),

		Filter:       b([]string{"/"}, "/", "filter labs"),
		FilterDone:   b([]string{"enter"}, "enter", "keep the filter"),
		FilterClear:  b([]string{"esc"}, "esc", "clear the filter"),
		FilterDelete: b([]string{"backspace"}, "backspace", "delete a letter"),

		RunAll:    b([]string{"r"}, "r", "run all"),
		RunPart:   b([]string{"enter", "p"}, "enter/p", "run part"),
		Watch:     b([]string{"w"}, "w", "watch"),
		WatchPart: b([]string{"W"}, "W", "watch this part"),
		WatchStop: b([]string{"w", "W"}, "w", "stop watching"),
		Hint:      b([]string{"h"}, "h", "hint"),
		CloseHint: b([]string{"esc"}, "esc", "close the hint"),
		Guide:     b([]string{"g"}, "g", "guide"),
		Edit:      b([]string{"e"}, "e", "edit in $EDITOR"),
		Reset:     b([]string{"R"}, "R", "reset to the stub"),
		Yes:       b([]string{"y", "Y"}, "y", "yes"),
		No:        b([]string{"n", "N", "esc"}, "n", "no"),

		Stop: b([]string{"esc", "ctrl+c"}, "esc", "stop the run"),

		NextFailure: b([]string{"n"}, "n", "next failure"),
		PrevFailure: b([]string{"N"}, "N", "previous failure"),
		Timeline:    b([]string{"t"}, "t", "step through the run"),

		NextFault:   b([]string{"]"}, "]", "next fault"),
		PrevFault:   b([]string{"["}, "[", "previous fault"),
		JumpFailure: b([]string{"i"}, "i", "the broken rule"),
	}
}

// viewportKeys lets the bubbles viewport scroll with our bindings, so the
// keys it answers to are the ones the help lists.
func (k keyMap) viewportKeys() viewport.KeyMap {
	off := key.NewBinding(key.WithDisabled()) // no sideways scrolling: long lines are wrapped
	return viewport.KeyMap{
		Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown,
		HalfPageUp: k.HalfUp, HalfPageDown: k.HalfDown, Left: off, Right: off,
	}
}

// short is the key bar at the bottom of each screen: the few keys that
// screen is about. Everything else is one ? away.
func (k keyMap) short(s state, watching bool) []key.Binding {
	switch s {
	case stateHome:
		return []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Help, k.Quit}
	case stateLab:
		return k.labShort(watching, false)
	case stateRun:
		return []key.Binding{k.Stop, k.Help}
	case stateResults:
		return []key.Binding{k.NextFailure, k.PrevFailure, k.PageDown, k.Back, k.Help}
	case stateTimeline:
		return []key.Binding{k.Down, k.Up, k.NextFault, k.PrevFault, k.JumpFailure, k.Back, k.Help}
	case stateGuide:
		return []key.Binding{k.Down, k.Up, k.PageDown, k.PageUp, k.Back, k.Help}
	}
	return []key.Binding{k.Help}
}

// labShort is the lab screen's key bar; while a hint shows, esc closes it
// rather than leaving the lab.
func (k keyMap) labShort(watching, hint bool) []key.Binding {
	w, back := k.Watch, k.Back
	if watching {
		w = k.WatchStop
	}
	if hint {
		back = k.CloseHint
	}
	return []key.Binding{k.RunAll, k.RunPart, w, k.Hint, k.Guide, back, k.Help}
}

// helpSection is one titled group of keys in the full help.
type helpSection struct {
	title string
	keys  []key.Binding
}

// full is every key, grouped the way a learner meets them.
func (k keyMap) full() (left, right []helpSection) {
	// The columns are kept about even, so both fit in 24 rows.
	left = []helpSection{
		{"Moving around", []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom, k.Back}},
		{"Home", []key.Binding{k.Open, k.Filter, k.FilterDone, k.FilterClear, k.Quit}},
		{"While tests run", []key.Binding{k.Stop}},
	}
	right = []helpSection{
		{"A lab", []key.Binding{k.RunAll, k.RunPart, k.Watch, k.WatchPart, k.Hint, k.CloseHint, k.Guide, k.Edit, k.Reset}},
		// The timeline's own keys (], [, i) are on its key bar: 24 rows
		// hold no more.
		{"Results", []key.Binding{k.NextFailure, k.PrevFailure, k.Timeline}},
		{"Everywhere", []key.Binding{k.Help, k.ForceQuit}},
	}
	return left, right
}
