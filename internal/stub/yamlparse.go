package stub

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxYAMLDepth is how deeply the collections of a YAML (or JSON) stub file
// or admin body may nest. go-yaml's parser takes time and memory that grow
// with the square of the depth (a body of 40,000 nested brackets, 80 KB,
// took 2.5 GB), so deeper input is refused before it is parsed. No stub
// comes near it: a body nested 1,000 levels is no API's.
const MaxYAMLDepth = 1000

// maxAliasNodes bounds what aliases add to a document once expanded,
// beyond ten times the document's own nodes: go-yaml expands every alias
// into a copy when it decodes, so a few lines of aliases of aliases
// ("billion laughs") would take all memory.
const maxAliasNodes = 1_000_000

// ParseYAML parses data, YAML or JSON, as go-yaml's parser.ParseBytes does,
// after refusing what would take the parser or the decoder unbounded
// memory: collections nested deeper than MaxYAMLDepth, and aliases that
// expand to far more than the document holds. Those errors are *PosError.
//
// Each alias in the tree it returns is replaced by the node its anchor
// names, so that any part of a document decodes alone (go-yaml's decoder
// knows only the anchors it has met itself, and a stub's body, or one stub
// of a list, is decoded on its own).
func ParseYAML(data []byte) (*ast.File, error) {
	tokens := lexer.Tokenize(string(data))
	if err := checkDepth(tokens); err != nil {
		return nil, err
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		return nil, err
	}
	for _, doc := range f.Docs {
		if err := checkAliases(doc); err != nil {
			return nil, err
		}
		if hasAliases(tokens) {
			r := aliasResolver{anchors: map[string]ast.Node{}}
			doc.Body = r.resolve(doc.Body)
		}
	}
	return f, nil
}

func hasAliases(tokens token.Tokens) bool {
	for _, tk := range tokens {
		if tk.Type == token.AliasType {
			return true
		}
	}
	return false
}

// aliasResolver replaces aliases by the nodes their anchors name, in
// document order (an anchor is defined before its aliases). The tree
// becomes a graph whose shared parts are the anchored nodes.
type aliasResolver struct {
	anchors map[string]ast.Node
}

func (r *aliasResolver) resolve(n ast.Node) ast.Node {
	switch n := n.(type) {
	case *ast.AliasNode:
		if n.Value != nil {
			if v, ok := r.anchors[n.Value.GetToken().Value]; ok {
				return v
			}
		}
		return n // left for the decoder to report
	case *ast.AnchorNode:
		n.Value = r.resolve(n.Value)
		if n.Name != nil {
			r.anchors[n.Name.GetToken().Value] = n.Value
		}
	case *ast.TagNode:
		n.Value = r.resolve(n.Value)
	case *ast.MappingNode:
		merges := false
		for _, v := range n.Values {
			r.resolve(v)
			merges = merges || v.Key.IsMergeKey()
		}
		if merges {
			n.Values = merged(n.Values)
		}
	case *ast.MappingValueNode:
		n.Value = r.resolve(n.Value)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			n.Values[i] = r.resolve(v)
		}
	}
	return n
}

// checkDepth follows the nesting the tokens open: flow collections by
// their brackets, block collections by the columns their entries and keys
// start at (each nested block collection starts further right, or, for a
// sequence under a key, at the key's column, which is counted with the
// key's level: a bound, not an exact depth).
func checkDepth(tokens token.Tokens) error {
	flow := 0
	var cols []int // the columns of the open block collections
	for _, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			if flow > 0 {
				flow--
			}
			continue
		case token.DocumentHeaderType, token.DocumentEndType:
			cols = cols[:0]
			continue
		case token.SequenceEntryType, token.MappingValueType:
			if flow > 0 || tk.Position == nil {
				continue
			}
			col := tk.Position.Column
			if tk.Type == token.MappingValueType && tk.Prev != nil && tk.Prev.Position != nil {
				col = tk.Prev.Position.Column // the key's
			}
			for len(cols) > 0 && cols[len(cols)-1] > col {
				cols = cols[:len(cols)-1]
			}
			if len(cols) == 0 || cols[len(cols)-1] < col {
				cols = append(cols, col)
			}
		default:
			continue
		}
		if flow+len(cols) > MaxYAMLDepth {
			err := &PosError{Err: fmt.Errorf("collections nested more than %d levels deep: decoy reads no deeper", MaxYAMLDepth)}
			if tk.Position != nil {
				err.Line, err.Col = tk.Position.Line, tk.Position.Column
			}
			return err
		}
	}
	return nil
}

// checkAliases counts doc's nodes with each alias expanded (anchors are
// defined before their aliases, in document order) and refuses doc when
// the aliases add more than maxAliasNodes plus ten times its own nodes.
func checkAliases(doc *ast.DocumentNode) error {
	w := aliasWeigher{anchors: map[string]int{}}
	expanded := w.weigh(doc.Body)
	if w.alias == nil || expanded <= 11*w.own+maxAliasNodes {
		return nil
	}
	err := &PosError{Err: fmt.Errorf("aliases expand this document to at least %d values: write the values out, or use fewer aliases of aliases", expanded)}
	if w.alias.Position != nil {
		err.Line, err.Col = w.alias.Position.Line, w.alias.Position.Column
	}
	return err
}

// aliasWeigher weighs nodes, each alias as the anchored value it stands
// for; weights saturate at aliasCap.
type aliasWeigher struct {
	anchors map[string]int
	own     int          // nodes written in the document
	alias   *token.Token // the first alias met
}

const aliasCap = 1 << 40

func (w *aliasWeigher) weigh(n ast.Node) int {
	if n == nil {
		return 0
	}
	w.own++
	sum := func(a, b int) int { return min(a+b, aliasCap) }
	switch n := n.(type) {
	case *ast.AliasNode:
		if w.alias == nil {
			w.alias = n.GetToken()
		}
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		return sum(1, w.anchors[name])
	case *ast.AnchorNode:
		v := w.weigh(n.Value)
		if n.Name != nil {
			w.anchors[n.Name.GetToken().Value] = v
		}
		return sum(1, v)
	case *ast.TagNode:
		return sum(1, w.weigh(n.Value))
	case *ast.MappingNode:
		t := 1
		for _, v := range n.Values {
			t = sum(t, w.weigh(v))
		}
		return t
	case *ast.MappingValueNode:
		return sum(sum(1, w.weigh(n.Key)), w.weigh(n.Value))
	case *ast.MappingKeyNode:
		return sum(1, w.weigh(n.Value))
	case *ast.SequenceNode:
		t := 1
		for _, v := range n.Values {
			t = sum(t, w.weigh(v))
		}
		return t
	default:
		return 1
	}
}

// merged returns the pairs of a mapping with its merge keys (<<: *base,
// <<: [*a, *b]) replaced by the pairs they merge, where they stand: a key
// of the mapping's own wins over a merged one, and an earlier merged
// mapping over a later one, as YAML's merge key is defined. go-yaml's
// decoder would call a key given both ways a duplicate. A merge of what
// is not a mapping is left for the decoder to report.
func merged(values []*ast.MappingValueNode) []*ast.MappingValueNode {
	seen := map[string]bool{}
	for _, v := range values {
		if !v.Key.IsMergeKey() {
			seen[MappingKey(v)] = true
		}
	}
	out := make([]*ast.MappingValueNode, 0, len(values))
	for _, v := range values {
		maps, ok := mergedMaps(v)
		if !ok {
			out = append(out, v)
			continue
		}
		for _, m := range maps {
			for _, mv := range m.Values {
				if k := MappingKey(mv); !seen[k] {
					seen[k] = true
					out = append(out, mv)
				}
			}
		}
	}
	return out
}

// mergedMaps returns the mappings v merges, when v is a merge key whose
// value is a mapping or a list of mappings.
func mergedMaps(v *ast.MappingValueNode) ([]*ast.MappingNode, bool) {
	if !v.Key.IsMergeKey() {
		return nil, false
	}
	switch m := Unwrap(v.Value).(type) {
	case *ast.MappingNode:
		return []*ast.MappingNode{m}, true
	case *ast.SequenceNode:
		maps := make([]*ast.MappingNode, 0, len(m.Values))
		for _, e := range m.Values {
			em, ok := Unwrap(e).(*ast.MappingNode)
			if !ok {
				return nil, false
			}
			maps = append(maps, em)
		}
		return maps, true
	}
	return nil, false
}
