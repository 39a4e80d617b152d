package sim

import (
	"fmt"
	"reflect"
	"sync"
)

// Messages cross the network by value. A message of a type with no
// references (no slices, maps or pointers) is already a copy once it is in
// an interface, so it travels as it is; anything else is deep-copied. The
// check of a type is done once and remembered: sending costs nothing more.

type typeInfo struct {
	flat bool  // nothing in it can be shared: an interface copy suffices
	err  error // why the type cannot be a message
}

var typeInfos sync.Map // reflect.Type → *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	flat, err := inspect(t, t.String(), map[reflect.Type]bool{})
	ti := &typeInfo{flat: flat && err == nil, err: err}
	typeInfos.Store(t, ti)
	return ti
}

// inspect reports whether values of t can be shared safely as they are, and
// an error if t cannot cross a network at all.
func inspect(t reflect.Type, path string, seen map[reflect.Type]bool) (flat bool, err error) {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true, nil
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return false, fmt.Errorf("%s is a %s: a message must be plain data, which can cross a network", path, t.Kind())
	case reflect.Interface:
		// Whatever it holds is checked when a value is copied.
		return false, nil
	}
	if seen[t] {
		return false, nil // a recursive type: references, so not flat
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Array:
		return inspect(t.Elem(), path+"[i]", seen)
	case reflect.Slice, reflect.Pointer:
		_, err := inspect(t.Elem(), path+"[i]", seen)
		return false, err
	case reflect.Map:
		if _, err := inspect(t.Key(), path+" key", seen); err != nil {
			return false, err
		}
		_, err := inspect(t.Elem(), path+"[k]", seen)
		return false, err
	case reflect.Struct:
		flat = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				return false, fmt.Errorf("%s.%s is unexported: a message crosses a network (encoded and decoded), so all its fields must be exported", path, f.Name)
			}
			ff, err := inspect(f.Type, path+"."+f.Name, seen)
			if err != nil {
				return false, err
			}
			flat = flat && ff
		}
		return flat, nil
	}
	return false, fmt.Errorf("%s: values of kind %s cannot be messages", path, t.Kind())
}

// CheckMessage returns an error if msg cannot be a message.
func CheckMessage(msg Message) error {
	if msg == nil {
		return fmt.Errorf("a message must not be nil")
	}
	return infoOf(reflect.TypeOf(msg)).err
}

// CopyMessage returns a copy of msg that shares no memory with it: what a
// receiver gets when msg crosses the network. Test kits that stand in for
// the network use it too.
func CopyMessage(msg Message) (Message, error) {
	if msg == nil {
		return nil, fmt.Errorf("a message must not be nil")
	}
	return copyTyped(msg, infoOf(reflect.TypeOf(msg)))
}

// typeCache is a World's few most recent message types: a simulation sends
// a handful of types millions of times, and comparing a type with a few is
// cheaper than the shared map's lookup. One goroutine uses it.
type typeCache struct {
	entries [8]struct {
		t  reflect.Type
		ti *typeInfo
	}
	next int
}

func (c *typeCache) copy(msg Message) (Message, error) {
	if msg == nil {
		return nil, fmt.Errorf("a message must not be nil")
	}
	t := reflect.TypeOf(msg)
	for i := range c.entries {
		if c.entries[i].t == t {
			return copyTyped(msg, c.entries[i].ti)
		}
	}
	ti := infoOf(t)
	c.entries[c.next].t, c.entries[c.next].ti = t, ti
	c.next = (c.next + 1) % len(c.entries)
	return copyTyped(msg, ti)
}

func copyTyped(msg Message, ti *typeInfo) (Message, error) {
	t := reflect.TypeOf(msg)
	if ti.err != nil {
		return nil, ti.err
	}
	if ti.flat {
		return msg, nil
	}
	v, err := deepCopy(reflect.ValueOf(msg), t.String())
	if err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

func deepCopy(v reflect.Value, path string) (reflect.Value, error) {
	t := v.Type()
	if ti := infoOf(t); ti.err != nil {
		return reflect.Value{}, ti.err
	} else if ti.flat {
		return v, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v, nil
		}
		elem, err := deepCopy(v.Elem(), path)
		if err != nil {
			return reflect.Value{}, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(elem)
		return p, nil
	case reflect.Slice:
		if v.IsNil() {
			return v, nil
		}
		s := reflect.MakeSlice(t, v.Len(), v.Len())
		if infoOf(t.Elem()).flat {
			reflect.Copy(s, v)
			return s, nil
		}
		for i := range v.Len() {
			e, err := deepCopy(v.Index(i), path)
			if err != nil {
				return reflect.Value{}, err
			}
			s.Index(i).Set(e)
		}
		return s, nil
	case reflect.Map:
		if v.IsNil() {
			return v, nil
		}
		m := reflect.MakeMapWithSize(t, v.Len())
		it := v.MapRange()
		for it.Next() {
			k, err := deepCopy(it.Key(), path)
			if err != nil {
				return reflect.Value{}, err
			}
			e, err := deepCopy(it.Value(), path)
			if err != nil {
				return reflect.Value{}, err
			}
			m.SetMapIndex(k, e)
		}
		return m, nil
	case reflect.Array:
		a := reflect.New(t).Elem()
		for i := range v.Len() {
			e, err := deepCopy(v.Index(i), path)
			if err != nil {
				return reflect.Value{}, err
			}
			a.Index(i).Set(e)
		}
		return a, nil
	case reflect.Struct:
		s := reflect.New(t).Elem()
		for i := range v.NumField() {
			e, err := deepCopy(v.Field(i), path)
			if err != nil {
				return reflect.Value{}, err
			}
			s.Field(i).Set(e)
		}
		return s, nil
	case reflect.Interface:
		if v.IsNil() {
			return v, nil
		}
		e, err := deepCopy(v.Elem(), path)
		if err != nil {
			return reflect.Value{}, err
		}
		i := reflect.New(t).Elem()
		i.Set(e)
		return i, nil
	}
	return v, nil
}
