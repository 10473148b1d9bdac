// Package protoload reads the API descriptions decoy serves over gRPC:
// .proto files, compiled in process with protocompile (imports resolved
// from the folders given, the well-known types built in, no protoc needed),
// and descriptor sets (.protoset, .pb) written by protoc or buf. It merges
// them into one Set: the services and methods to serve, and the resolvers
// that dynamic messages, JSON conversion and server reflection need.
// Problems come back as config.Problems with file:line:col.
package protoload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/decoy-dev/decoy/internal/config"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// MaxFile is the largest .proto or descriptor set file read.
const MaxFile = 64 << 20

// IsProtoFile reports whether name is one of the files Load reads: .proto,
// .protoset or .pb.
func IsProtoFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".proto", ".protoset", ".pb":
		return true
	}
	return false
}

// SplitPaths sorts the paths given to decoy into those read for stubs and
// those Load reads: a folder is both (it is searched for stub files and
// for .proto files), a file is one or the other by IsProtoFile.
func SplitPaths(paths []string) (stubs, protos []string) {
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			stubs = append(stubs, p)
			protos = append(protos, p)
		} else if IsProtoFile(p) {
			protos = append(protos, p)
		} else {
			stubs = append(stubs, p)
		}
	}
	return stubs, protos
}

// Set is a loaded, linked set of protobuf files. It is immutable.
type Set struct {
	files    *protoregistry.Files
	types    *dynamicpb.Types
	exts     map[protoreflect.FullName][]protoreflect.ExtensionType
	services []protoreflect.ServiceDescriptor
	methods  map[string]protoreflect.MethodDescriptor
	// Sources are the files read: .proto files (sorted; those given, found
	// in folders, or imported), then descriptor sets.
	Sources []string
}

// Services returns the services defined in the set, sorted by full name.
func (s *Set) Services() []protoreflect.ServiceDescriptor { return s.services }

// Method returns the method with the given full path, "/pkg.Service/Method",
// or nil.
func (s *Set) Method(path string) protoreflect.MethodDescriptor { return s.methods[path] }

// Methods returns every method path, sorted.
func (s *Set) Methods() []string {
	out := make([]string, 0, len(s.methods))
	for p := range s.methods {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Files returns the set's files; Resolver adds the ones compiled into decoy.
func (s *Set) Files() *protoregistry.Files { return s.files }

// Resolver finds files and descriptors in the set, then among those
// compiled into decoy (the well-known types, google.rpc, health,
// reflection).
func (s *Set) Resolver() protodesc.Resolver { return resolver{s.files} }

// Types resolves message and extension types: the set's own (as dynamic
// types), then those compiled into decoy. It serves protojson (Any fields,
// status details) and the reflection service.
func (s *Set) Types() *Types { return &Types{s} }

// Types is a type resolver over a Set; see Set.Types.
type Types struct{ s *Set }

// FindMessageByName looks a message type up by full name.
func (t *Types) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if mt, err := t.s.types.FindMessageByName(name); err == nil {
		return mt, nil
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

// FindMessageByURL looks a message type up by type URL
// ("type.googleapis.com/pkg.Msg").
func (t *Types) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if mt, err := t.s.types.FindMessageByURL(url); err == nil {
		return mt, nil
	}
	return protoregistry.GlobalTypes.FindMessageByURL(url)
}

// FindExtensionByName looks an extension up by full name.
func (t *Types) FindExtensionByName(name protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if xt, err := t.s.types.FindExtensionByName(name); err == nil {
		return xt, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByName(name)
}

// FindExtensionByNumber looks an extension of message up by field number.
func (t *Types) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	if xt, err := t.s.types.FindExtensionByNumber(message, field); err == nil {
		return xt, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}

// RangeExtensionsByMessage calls f for each extension of message.
func (t *Types) RangeExtensionsByMessage(message protoreflect.FullName, f func(protoreflect.ExtensionType) bool) {
	for _, xt := range t.s.exts[message] {
		if !f(xt) {
			return
		}
	}
	protoregistry.GlobalTypes.RangeExtensionsByMessage(message, f)
}

type resolver struct{ files *protoregistry.Files }

func (r resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.files.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (r resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.files.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}

// loader gathers files before they are linked into a Set.
type loader struct {
	importPaths []string
	compile     []string          // names to compile, relative to an import path
	real        map[string]string // name → the path it was read from
	found       map[string]string // name → the file given or found in a folder under it
	// mu guards real and the problems the compiler reports: its
	// goroutines may still call back after Compile has returned an error.
	mu      sync.Mutex
	sets    []string // descriptor set files
	sources []string
	probs   config.Problems
	open    func(name string) (io.ReadCloser, string, error)
}

// Load reads .proto files, descriptor sets (.protoset, .pb) and folders.
// Every .proto and .protoset file under a folder is loaded. A .proto file
// is named as its importers name it, which the imports among the files
// say (see nameFolder): relative to the folder unless they say otherwise,
// for a file given alone relative to the folder above its package's path
// (api/shop/v1/users.proto in package shop.v1 is shop/v1/users.proto
// under api). The folders it is named from are import paths.
// Every problem in every file is reported, with file:line:col.
func Load(paths []string) (*Set, error) {
	l := &loader{real: map[string]string{}, found: map[string]string{}}
	seenIP := map[string]bool{}
	addIP := func(dir string) {
		if !seenIP[dir] {
			seenIP[dir] = true
			l.importPaths = append(l.importPaths, dir)
		}
	}
	// seenName maps an import name to the file it was found in. Two
	// files under one name would leave only the first compiled, with
	// every service of the second gone; the same file reached twice (a
	// folder given twice) or an identical copy (a vendored import in two
	// trees) is no conflict.
	seenName := map[string]string{}
	addCompile := func(name, file string) {
		first, ok := seenName[name]
		if !ok {
			seenName[name] = file
			l.found[name] = file
			l.compile = append(l.compile, name)
			return
		}
		if sameFile(first, file) {
			return
		}
		l.probs = append(l.probs, config.Problem{File: file, Msg: fmt.Sprintf(
			"import name %q is taken by %s, a different file: only one can be loaded (give one of the two folders, or rename one file)",
			name, first)})
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			l.probs = append(l.probs, config.Problem{File: p, Msg: config.DescribeOpenErr(err)})
			continue
		}
		if !info.IsDir() {
			switch strings.ToLower(filepath.Ext(p)) {
			case ".proto":
				// Named as a folder's files are, with itself alone in it.
				for _, f := range nameFolder(filepath.Dir(p), []string{p}) {
					addIP(f.root)
					addCompile(f.name, f.path)
				}
			case ".protoset", ".pb":
				l.sets = append(l.sets, p)
			default:
				l.probs = append(l.probs, config.Problem{File: p, Msg: "not a .proto, .protoset or .pb file"})
			}
			continue
		}
		addIP(p)
		var found []string
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				l.probs = append(l.probs, config.Problem{File: name, Msg: config.DescribeOpenErr(err)})
				return nil
			}
			if name != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			switch strings.ToLower(filepath.Ext(name)) {
			case ".proto":
				found = append(found, name)
			case ".protoset":
				l.sets = append(l.sets, name)
			}
			return nil
		})
		if err != nil {
			l.probs = append(l.probs, config.Problem{File: p, Msg: err.Error()})
		}
		named := nameFolder(p, found)
		for _, f := range named {
			addIP(f.root)
		}
		for _, f := range named {
			addCompile(f.name, f.path)
		}
	}
	l.open = l.openFS
	return l.link()
}

// sameFile reports whether a and b are one file, or files with the same
// bytes.
func sameFile(a, b string) bool {
	ia, erra := os.Stat(a)
	ib, errb := os.Stat(b)
	if erra == nil && errb == nil && os.SameFile(ia, ib) {
		return true
	}
	ba, erra := os.ReadFile(a)
	bb, errb := os.ReadFile(b)
	return erra == nil && errb == nil && bytes.Equal(ba, bb)
}

// LoadSources compiles .proto sources held in memory, keyed by file name
// (as imports name them). The built-in demo uses it.
func LoadSources(srcs map[string]string) (*Set, error) {
	l := &loader{real: map[string]string{}}
	for name := range srcs {
		l.compile = append(l.compile, name)
	}
	sort.Strings(l.compile)
	l.open = func(name string) (io.ReadCloser, string, error) {
		src, ok := srcs[name]
		if !ok {
			return nil, "", fs.ErrNotExist
		}
		return io.NopCloser(strings.NewReader(src)), name, nil
	}
	return l.link()
}

// openFS finds name in the import paths.
func (l *loader) openFS(name string) (io.ReadCloser, string, error) {
	if p, ok := l.found[name]; ok {
		f, err := os.Open(p)
		return f, p, err
	}
	var firstErr error
	for _, ip := range l.importPaths {
		p := filepath.Join(ip, filepath.FromSlash(name))
		f, err := os.Open(p)
		if err == nil {
			return f, p, nil
		}
		if firstErr == nil || !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	if firstErr == nil || errors.Is(firstErr, fs.ErrNotExist) {
		return nil, "", notFound{fmt.Errorf("%s not found in %s (imports are resolved from the folders given and the folders of the .proto files given)", name, strings.Join(l.importPaths, ", "))}
	}
	return nil, "", firstErr
}

// notFound is an import found in no import path; it is fs.ErrNotExist.
type notFound struct{ error }

func (notFound) Is(target error) bool { return target == fs.ErrNotExist }

// link compiles and reads everything gathered and builds the Set.
func (l *loader) link() (*Set, error) {
	files := new(protoregistry.Files)
	if len(l.compile) > 0 {
		res := protocompile.ResolverFunc(func(name string) (protocompile.SearchResult, error) {
			rc, real, err := l.open(name)
			if err != nil {
				if fd, ok := bundled(name); ok && errors.Is(err, fs.ErrNotExist) {
					// As a descriptor to link, not a linked one: its
					// imports are then resolved here too, so that a user's
					// copy of one (google/api/annotations.proto beside a
					// bundled google/longrunning) is the only one.
					return protocompile.SearchResult{Proto: protodesc.ToFileDescriptorProto(fd)}, nil
				}
				return protocompile.SearchResult{}, err
			}
			l.mu.Lock()
			l.real[name] = real
			l.mu.Unlock()
			return protocompile.SearchResult{Source: limitReader(rc)}, nil
		})
		var compileProbs config.Problems
		comp := protocompile.Compiler{
			Resolver:       protocompile.WithStandardImports(res),
			SourceInfoMode: protocompile.SourceInfoStandard,
			Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
				pos := err.GetPosition()
				l.mu.Lock()
				defer l.mu.Unlock()
				file := l.real[pos.Filename]
				if file == "" {
					file = pos.Filename
				}
				compileProbs = append(compileProbs, config.Problem{File: file, Line: pos.Line, Col: pos.Col, Msg: withHint(err.Unwrap().Error())})
				return nil // keep going: report every error
			}, nil),
		}
		out, err := comp.Compile(context.Background(), l.compile...)
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case len(compileProbs) > 0:
			sort.SliceStable(compileProbs, func(i, j int) bool {
				a, b := compileProbs[i], compileProbs[j]
				if a.File != b.File {
					return a.File < b.File
				}
				if a.Line != b.Line {
					return a.Line < b.Line
				}
				return a.Col < b.Col
			})
			l.probs = append(l.probs, compileProbs...)
		case err != nil:
			var ewp reporter.ErrorWithPos
			if errors.As(err, &ewp) {
				pos := ewp.GetPosition()
				file := l.real[pos.Filename]
				if file == "" {
					file = pos.Filename
				}
				l.probs = append(l.probs, config.Problem{File: file, Line: pos.Line, Col: pos.Col, Msg: ewp.Unwrap().Error()})
				break
			}
			l.probs = append(l.probs, config.Problem{File: l.where(err), Msg: strings.TrimPrefix(err.Error(), "could not resolve path ")})
		default:
			seen := map[string]bool{}
			for _, f := range out {
				if err := register(files, f, seen); err != nil {
					l.probs = append(l.probs, l.problemOf(err))
				}
			}
		}
		// Every file read: those named and those they import.
		for _, r := range l.real {
			l.sources = append(l.sources, r)
		}
		sort.Strings(l.sources)
	}
	for _, p := range l.sets {
		l.sources = append(l.sources, p)
		l.probs = append(l.probs, readSet(files, p)...)
	}
	if len(l.probs) > 0 {
		return nil, l.probs
	}
	return build(files, l.sources), nil
}

// withHint adds to a compiler's message what the user can do about it.
func withHint(msg string) string {
	if strings.HasPrefix(msg, "edition value ") && strings.Contains(msg, "not recognized") {
		// protocompile reads editions up to 2023; Go's protodesc, which
		// reads descriptor sets, knows later ones.
		return msg + " (decoy compiles .proto files of editions up to 2023; for a later edition, give it a descriptor set: protoc --include_imports --descriptor_set_out=api.protoset, or buf build -o api.protoset)"
	}
	return msg
}

// where guesses which file a positionless compile error is about.
func (l *loader) where(err error) string {
	msg := err.Error()
	for _, name := range l.compile {
		if strings.Contains(msg, name) {
			if r := l.real[name]; r != "" {
				return r
			}
			if len(l.importPaths) > 0 {
				return filepath.Join(l.importPaths[0], name)
			}
			return name
		}
	}
	return "protos"
}

type limited struct {
	io.Reader
	io.Closer
}

func limitReader(rc io.ReadCloser) io.ReadCloser {
	return limited{Reader: io.LimitReader(rc, MaxFile), Closer: rc}
}

// register adds f and, first, its imports to files.
//
// Each file is built again from its descriptor by protobuf-go's protodesc,
// which checks it as protoc does: protocompile accepts a few files protoc
// refuses (a proto2 map whose closed enum does not start at 0), and
// reflection would then serve descriptors that clients such as grpcurl or
// Go's protodesc cannot use. The rebuilt descriptors also carry every
// feature of Editions as the runtime reads them (a LEGACY_REQUIRED field
// is required, as a proto2 required field is), and drop protocompile's
// syntax trees.
func register(files *protoregistry.Files, f protoreflect.FileDescriptor, seen map[string]bool) error {
	if seen[f.Path()] {
		return nil
	}
	seen[f.Path()] = true
	imps := f.Imports()
	for i := 0; i < imps.Len(); i++ {
		if err := register(files, imps.Get(i).FileDescriptor, seen); err != nil {
			return err
		}
	}
	if _, err := files.FindFileByPath(f.Path()); err == nil {
		return nil
	}
	nf, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(f), files)
	if err != nil {
		return &invalidFile{f: f, err: err}
	}
	return files.RegisterFile(nf)
}

// invalidFile is a compiled file that protodesc refuses.
type invalidFile struct {
	f   protoreflect.FileDescriptor
	err error
}

func (e *invalidFile) Error() string { return e.err.Error() }

// quotedName is the first quoted full name in a protodesc error
// (message field "ed.v1.P2.cmap" is an invalid map: ...).
var quotedName = regexp.MustCompile(`"([A-Za-z_][A-Za-z0-9_.]*)"`)

// problemOf gives a registration error the file, and when the error names
// an element of the file, its line and column.
func (l *loader) problemOf(err error) config.Problem {
	var inv *invalidFile
	if !errors.As(err, &inv) {
		return config.Problem{File: "protos", Msg: err.Error()}
	}
	f := inv.f
	// protobuf-go writes "proto:" and then a space or, on purpose now and
	// then, a non-breaking one.
	msg := strings.TrimLeft(strings.TrimPrefix(inv.err.Error(), "proto:"), " \u00a0")
	p := config.Problem{File: l.real[f.Path()], Msg: msg}
	if p.File == "" {
		p.File = f.Path()
	}
	for _, m := range quotedName.FindAllStringSubmatch(inv.err.Error(), -1) {
		if d := findIn(f, protoreflect.FullName(m[1])); d != nil {
			if loc := f.SourceLocations().ByDescriptor(d); loc.StartLine > 0 || loc.StartColumn > 0 || loc.EndLine > 0 {
				p.Line, p.Col = loc.StartLine+1, loc.StartColumn+1
			}
			break
		}
	}
	return p
}

// findIn finds the element of f named name, or nil.
func findIn(f protoreflect.FileDescriptor, name protoreflect.FullName) protoreflect.Descriptor {
	var found protoreflect.Descriptor
	var walk func(d protoreflect.Descriptor)
	walk = func(d protoreflect.Descriptor) {
		if found != nil {
			return
		}
		if d.FullName() == name {
			found = d
			return
		}
		type container interface {
			Messages() protoreflect.MessageDescriptors
			Enums() protoreflect.EnumDescriptors
			Extensions() protoreflect.ExtensionDescriptors
		}
		if c, ok := d.(container); ok {
			for i := 0; i < c.Enums().Len(); i++ {
				e := c.Enums().Get(i)
				walk(e)
				for j := 0; j < e.Values().Len(); j++ {
					walk(e.Values().Get(j))
				}
			}
			for i := 0; i < c.Extensions().Len(); i++ {
				walk(c.Extensions().Get(i))
			}
			for i := 0; i < c.Messages().Len(); i++ {
				walk(c.Messages().Get(i))
			}
		}
		if md, ok := d.(protoreflect.MessageDescriptor); ok {
			for i := 0; i < md.Fields().Len(); i++ {
				walk(md.Fields().Get(i))
			}
			for i := 0; i < md.Oneofs().Len(); i++ {
				walk(md.Oneofs().Get(i))
			}
		}
	}
	walk(f)
	svcs := f.Services()
	for i := 0; i < svcs.Len() && found == nil; i++ {
		walk(svcs.Get(i))
		for j := 0; j < svcs.Get(i).Methods().Len(); j++ {
			walk(svcs.Get(i).Methods().Get(j))
		}
	}
	return found
}

// readSet reads a FileDescriptorSet into files. Files already there (by
// path) are kept; dependencies missing from the set are looked up among
// the files compiled into decoy (the well-known types).
func readSet(files *protoregistry.Files, name string) config.Problems {
	info, err := os.Stat(name)
	if err != nil {
		return config.Problems{{File: name, Msg: config.DescribeOpenErr(err)}}
	}
	if info.Size() > MaxFile {
		return config.Problems{{File: name, Msg: fmt.Sprintf("larger than %d MiB", MaxFile>>20)}}
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return config.Problems{{File: name, Msg: config.DescribeOpenErr(err)}}
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return config.Problems{{File: name, Msg: "not a protobuf descriptor set (write one with protoc --include_imports --descriptor_set_out=FILE, or buf build -o FILE): " + err.Error()}}
	}
	if len(set.File) == 0 {
		return config.Problems{{File: name, Msg: "the descriptor set holds no files"}}
	}
	pending := set.File
	r := resolver{files}
	for len(pending) > 0 {
		var next []*descriptorpb.FileDescriptorProto
		var lastErr error
		for _, fdp := range pending {
			if _, err := files.FindFileByPath(fdp.GetName()); err == nil {
				continue
			}
			fd, err := protodesc.NewFile(fdp, r)
			if err != nil {
				next = append(next, fdp)
				lastErr = fmt.Errorf("%s: %w", fdp.GetName(), err)
				continue
			}
			if err := files.RegisterFile(fd); err != nil {
				return config.Problems{{File: name, Msg: fmt.Sprintf("%s: %v", fdp.GetName(), err)}}
			}
		}
		if len(next) == len(pending) {
			return config.Problems{{File: name, Msg: lastErr.Error() + " (was the set written with --include_imports?)"}}
		}
		pending = next
	}
	return nil
}

// build indexes files into a Set.
func build(files *protoregistry.Files, sources []string) *Set {
	s := &Set{
		files:   files,
		types:   dynamicpb.NewTypes(files),
		exts:    map[protoreflect.FullName][]protoreflect.ExtensionType{},
		methods: map[string]protoreflect.MethodDescriptor{},
		Sources: sources,
	}
	addExts := func(xs protoreflect.ExtensionDescriptors) {
		for i := 0; i < xs.Len(); i++ {
			x := xs.Get(i)
			s.exts[x.ContainingMessage().FullName()] = append(s.exts[x.ContainingMessage().FullName()], dynamicpb.NewExtensionType(x))
		}
	}
	var addMsgExts func(ms protoreflect.MessageDescriptors)
	addMsgExts = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			addExts(ms.Get(i).Extensions())
			addMsgExts(ms.Get(i).Messages())
		}
	}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		addExts(fd.Extensions())
		addMsgExts(fd.Messages())
		svcs := fd.Services()
		for i := 0; i < svcs.Len(); i++ {
			sd := svcs.Get(i)
			s.services = append(s.services, sd)
			ms := sd.Methods()
			for j := 0; j < ms.Len(); j++ {
				m := ms.Get(j)
				s.methods["/"+string(sd.FullName())+"/"+string(m.Name())] = m
			}
		}
		return true
	})
	sort.Slice(s.services, func(i, j int) bool { return s.services[i].FullName() < s.services[j].FullName() })
	return s
}
