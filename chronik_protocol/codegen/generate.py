#!/usr/bin/env python3
"""Generates C++ message structs with Decode/Encode from Chronik's protocol schema files.

Standard library only: it runs in a Bazel genrule with the machine's python3.

    generate.py --out DIR SCHEMA...

For every schema `foo_bar.schema` it writes `DIR/foo_bar.h`, `DIR/foo_bar.cc` and
`DIR/foo_bar_fill.cc` (test-only value filler), and once `DIR/all_messages.h` and `DIR/fill.h`.
The schema format is described in chronik_protocol/README.md.
"""

import argparse
import os
import re
import sys

INF = 1 << 15

PRIMITIVES = {
    # schema type: (C++ type, Reader/Writer suffix, fixed size in bytes)
    "bool": ("bool", "Bool", 1),
    "int8": ("int8_t", "Int8", 1),
    "int16": ("int16_t", "Int16", 2),
    "uint16": ("uint16_t", "Uint16", 2),
    "int32": ("int32_t", "Int32", 4),
    "uint32": ("uint32_t", "Uint32", 4),
    "int64": ("int64_t", "Int64", 8),
    "float64": ("double", "Float64", 8),
    "uuid": ("Uuid", "Uuid", 16),
}
BYTE_TYPES = ("string", "bytes", "records")


class SchemaError(Exception):
    pass


def parse_versions(text, where):
    if text == "none":
        return None
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), INF)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise SchemaError("%s: empty version range %s" % (where, text))
        return (lo, hi)
    m = re.fullmatch(r"\d+", text)
    if m:
        return (int(text), int(text))
    raise SchemaError("%s: bad version range %r" % (where, text))


def intersect(a, b):
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


class Field:
    def __init__(self, name, type_, versions, where):
        self.name = name
        self.type = type_
        self.versions = versions
        self.where = where
        self.nullable = None
        self.tag = None
        self.tagged = None
        self.default = None
        self.struct = None  # Struct for struct and struct-array types

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type


class Struct:
    def __init__(self, name, where):
        self.name = name
        self.where = where
        self.fields = []


class Message:
    def __init__(self, kind, name):
        self.kind = kind
        self.name = name
        self.root = Struct(name, name)
        self.structs = {}  # name -> Struct, in definition order
        self.flexible = None


class Api:
    def __init__(self, path):
        self.path = path
        self.base = os.path.splitext(os.path.basename(path))[0]
        self.name = None
        self.key = None
        self.versions = None
        self.flexible = None
        self.response_flexible = "same"
        self.messages = []


def parse_schema(path):
    api = Api(path)
    current = None
    # Stack of (indent, Struct) for nesting fields.
    stack = []
    with open(path) as f:
        lines = f.read().split("\n")
    for lineno, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, lineno)
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        words = line.split()
        if indent == 0:
            kw = words[0]
            if kw == "api":
                api.name = words[1]
            elif kw == "key":
                api.key = int(words[1])
            elif kw == "versions":
                api.versions = parse_versions(words[1], where)
            elif kw == "flexible":
                api.flexible = parse_versions(words[1], where)
            elif kw == "response_flexible":
                api.response_flexible = parse_versions(words[1], where)
            elif kw in ("request", "response"):
                current = Message(kw, words[1])
                current.flexible = api.flexible
                if kw == "response" and api.response_flexible != "same":
                    current.flexible = api.response_flexible
                api.messages.append(current)
                stack = [(0, current.root)]
            else:
                raise SchemaError("%s: unknown keyword %r" % (where, kw))
            continue
        if current is None:
            raise SchemaError("%s: field outside a request/response section" % where)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if not stack:
            raise SchemaError("%s: bad indentation" % where)
        parent = stack[-1][1]
        if words[0] == "struct":
            if parent is not current.root:
                raise SchemaError("%s: shared structs are declared at the top of a section" % where)
            # A shared struct may be referenced before its declaration.
            s = current.structs.setdefault(words[1], Struct(words[1], where))
            if s.fields:
                raise SchemaError("%s: struct %s defined twice" % (where, s.name))
            s.where = where
            stack.append((indent, s))
            continue
        if len(words) < 3:
            raise SchemaError("%s: a field needs a name, a type and versions" % where)
        field = Field(words[0], words[1], parse_versions(words[2], where), where)
        for opt in words[3:]:
            k, _, v = opt.partition("=")
            if k == "nullable":
                field.nullable = parse_versions(v, where)
            elif k == "tag":
                field.tag = int(v)
            elif k == "tagged":
                field.tagged = parse_versions(v, where)
            elif k == "default":
                field.default = v
            else:
                raise SchemaError("%s: unknown option %r" % (where, k))
        if (field.tag is None) != (field.tagged is None):
            raise SchemaError("%s: tag and tagged go together" % where)
        parent.fields.append(field)
        elem = field.elem
        if elem not in PRIMITIVES and elem not in BYTE_TYPES:
            # A struct type: either defined inline by the indented lines that follow, or shared.
            field.struct = current.structs.setdefault(elem, Struct(elem, where))
            stack.append((indent, field.struct))
    for attr in ("name", "key", "versions"):
        if getattr(api, attr) is None:
            raise SchemaError("%s: missing '%s'" % (path, attr))
    if len(api.messages) != 2 or [m.kind for m in api.messages] != ["request", "response"]:
        raise SchemaError("%s: needs a request and then a response section" % path)
    for m in api.messages:
        for s in [m.root] + list(m.structs.values()):
            if s is not m.root and not s.fields:
                raise SchemaError("%s: struct %s has no fields" % (s.where, s.name))
            for fld in s.fields:
                if fld.struct is not None and not fld.is_array and fld.nullable is not None:
                    raise SchemaError("%s: nullable structs are not supported" % fld.where)
    return api


def snake_to_camel(name):
    return "".join(p.capitalize() for p in name.split("_"))


class Gen:
    """Emits C++ for one message (request or response) of an API."""

    def __init__(self, api, msg):
        self.api = api
        self.msg = msg
        self.range = api.versions

    # ---- version conditions -------------------------------------------------------------------

    def cond(self, vr, within=None):
        """C++ boolean expression for `version` within vr, where version is known to be in
        `within` (the API's range by default): bounds implied by the context are left out."""
        ctx = self.range if within is None else intersect(within, self.range)
        vr = intersect(vr, ctx)
        if vr is None:
            return "false"
        parts = []
        if vr[0] > ctx[0]:
            parts.append("version >= %d" % vr[0])
        if vr[1] < ctx[1]:
            parts.append("version <= %d" % vr[1])
        return " && ".join(parts) if parts else "true"

    def flex_cond(self):
        return self.cond(self.msg.flexible)

    def regular_versions(self, f):
        """Versions in which the field is written in the body (not in the tagged section)."""
        if f.tagged is None:
            return f.versions
        # Tagged in all of its versions in every schema we have; anything else is a schema error.
        return None

    # ---- types --------------------------------------------------------------------------------

    def elem_cpp(self, f):
        e = f.elem
        if e in PRIMITIVES:
            return PRIMITIVES[e][0]
        if e == "records":
            return "Records"
        if e in BYTE_TYPES:
            return "std::string"
        return f.struct.name

    def cpp_type(self, f):
        if f.is_array:
            t = "std::vector<%s>" % self.elem_cpp(f)
        else:
            t = self.elem_cpp(f)
        if f.nullable is not None and (f.is_array or f.elem in BYTE_TYPES):
            t = "std::optional<%s>" % t
        return t

    def is_optional(self, f):
        return f.nullable is not None and (f.is_array or f.elem in BYTE_TYPES)

    def default_init(self, f):
        d = f.default
        if f.is_array or f.struct is not None or f.elem in BYTE_TYPES:
            if (f.is_array or f.struct is not None) and d not in (None, "null", ""):
                raise SchemaError("%s: arrays and structs take no default" % f.where)
            if d == "null":
                if not self.is_optional(f):
                    raise SchemaError("%s: default null on a non-nullable field" % f.where)
                return ""  # std::optional starts empty
            if d not in (None, ""):
                return ' = std::string("%s")' % d
            # A nullable field whose default is not null starts as a present, empty value.
            return "{std::in_place}" if self.is_optional(f) else ""
        if f.elem == "bool":
            if d in (None, "false"):
                return " = false"
            if d == "true":
                return " = true"
            raise SchemaError("%s: bad bool default %r" % (f.where, d))
        if f.elem == "uuid":
            return "{}"
        if f.elem == "float64":
            return " = %s" % (d or "0.0")
        value = int(d, 0) if d else 0
        ctype = PRIMITIVES[f.elem][0]
        return " = static_cast<%s>(%dLL)" % (ctype, value)

    # ---- read ---------------------------------------------------------------------------------

    def emit_read_value(self, out, f, target, ind):
        """Reads one value of field f (in the current version) into `target`."""
        nc = self.cond(f.nullable, f.versions) if f.nullable is not None else "false"
        flex = "flex"
        sp = " " * ind
        if f.is_array:
            out.append(sp + "{")
            out.append(sp + "  const int32_t n = r.ReadArrayLength(%s);" % flex)
            out.append(sp + "  if (n < 0) {")
            if self.is_optional(f):
                out.append(sp + "    if (%s) {" % nc)
                out.append(sp + "      %s.reset();" % target)
                out.append(sp + "    } else {")
                out.append(sp + "      r.Fail(\"null array for non-nullable field %s\");" % f.name)
                out.append(sp + "    }")
            else:
                out.append(sp + "    r.Fail(\"null array for non-nullable field %s\");" % f.name)
            out.append(sp + "  } else {")
            vec = "(*%s)" % target if self.is_optional(f) else target
            if self.is_optional(f):
                out.append(sp + "    %s.emplace();" % target)
            else:
                out.append(sp + "    %s.clear();" % target)
            e = f.elem
            if f.struct is not None:
                out.append(sp + "    for (int32_t i = 0; i < n && r.ok(); ++i) {")
                out.append(sp + "      const size_t before = r.remaining();")
                out.append(sp + "      %s.emplace_back().Read(r, version);" % vec)
                out.append(sp + "      if (r.remaining() == before) r.Fail(\"empty array element in %s\");"
                           % f.name)
                out.append(sp + "    }")
            elif e in PRIMITIVES:
                size = PRIMITIVES[e][2]
                out.append(sp + "    if (static_cast<size_t>(n) * %d > r.remaining()) {" % size)
                out.append(sp + "      r.Fail(\"array %s longer than the data\");" % f.name)
                out.append(sp + "    } else {")
                out.append(sp + "      %s.reserve(n);" % vec)
                out.append(sp + "      for (int32_t i = 0; i < n; ++i) %s.push_back(r.Read%s());"
                           % (vec, PRIMITIVES[e][1]))
                out.append(sp + "    }")
            else:
                kind = "String" if e == "string" else "Bytes"
                out.append(sp + "    for (int32_t i = 0; i < n && r.ok(); ++i) %s.push_back(r.Read%s(flex));"
                           % (vec, kind))
            out.append(sp + "  }")
            out.append(sp + "}")
        elif f.struct is not None:
            out.append(sp + "%s.Read(r, version);" % target)
        elif f.elem in PRIMITIVES:
            out.append(sp + "%s = r.Read%s();" % (target, PRIMITIVES[f.elem][1]))
        else:
            kind = "String" if f.elem == "string" else "Bytes"
            if self.is_optional(f):
                if nc == "true":
                    out.append(sp + "%s = r.ReadNullable%s(flex);" % (target, kind))
                else:
                    out.append(sp + "%s = (%s) ? r.ReadNullable%s(flex) : std::optional<std::string>(r.Read%s(flex));"
                               % (target, nc, kind, kind))
            else:
                out.append(sp + "%s = r.Read%s(flex);" % (target, kind))

    def emit_write_value(self, out, f, src, w, ind):
        sp = " " * ind
        if f.is_array:
            if self.is_optional(f):
                # A null in a version where the array is not nullable is written as empty.
                nc = self.cond(f.nullable, f.versions)
                out.append(sp + "if (!%s.has_value()) {" % src)
                out.append(sp + "  %s.WriteArrayLength(%s, flex);" % (w, "-1" if nc == "true" else "(%s) ? -1 : 0" % nc))
                out.append(sp + "} else {")
                vec = "(*%s)" % src
                ind2 = ind + 2
            else:
                vec = src
                ind2 = ind
            sp2 = " " * ind2
            out.append(sp2 + "%s.WriteArrayLength(static_cast<int32_t>(%s.size()), flex);" % (w, vec))
            e = f.elem
            if f.struct is not None:
                out.append(sp2 + "for (const auto& e : %s) e.Write(%s, version);" % (vec, w))
            elif e in PRIMITIVES:
                out.append(sp2 + "for (const auto& e : %s) %s.Write%s(e);" % (vec, w, PRIMITIVES[e][1]))
            else:
                kind = "String" if e == "string" else "Bytes"
                out.append(sp2 + "for (const auto& e : %s) %s.Write%s(e, flex);" % (vec, w, kind))
            if self.is_optional(f):
                out.append(sp + "}")
        elif f.struct is not None:
            out.append(sp + "%s.Write(%s, version);" % (src, w))
        elif f.elem in PRIMITIVES:
            out.append(sp + "%s.Write%s(%s);" % (w, PRIMITIVES[f.elem][1], src))
        else:
            kind = {"string": "String", "records": "Records"}.get(f.elem, "Bytes")
            if self.is_optional(f):
                # A null in a version where the field is not nullable is written as empty.
                nc = self.cond(f.nullable, f.versions)
                if nc == "true":
                    out.append(sp + "%s.WriteNullable%s(%s, flex);" % (w, kind, src))
                else:
                    out.append(sp + "if (%s || %s.has_value()) %s.WriteNullable%s(%s, flex); else %s.Write%s(%s(), flex);"
                               % (nc, src, w, kind, src, w, kind, self.elem_cpp(f)))
            else:
                out.append(sp + "%s.Write%s(%s, flex);" % (w, kind, src))

    def is_default_expr(self, f, src):
        if f.is_array:
            return "!%s.has_value()" % src if f.default == "null" else (
                "(%s.has_value() && %s->empty())" % (src, src) if self.is_optional(f) else "%s.empty()" % src)
        if f.struct is not None:
            return "%s == %s{}" % (src, f.struct.name)
        if f.elem in BYTE_TYPES:
            if self.is_optional(f):
                if f.default == "null":
                    return "!%s.has_value()" % src
                return "(%s.has_value() && %s->empty())" % (src, src)
            return "%s.empty()" % src
        if f.elem == "uuid":
            return "%s == Uuid{}" % src
        init = self.default_init(f)
        return "%s == %s" % (src, init[3:])

    # ---- emit a struct ------------------------------------------------------------------------

    def struct_order(self):
        """Nested structs in an order where every struct follows the structs it contains."""
        seen, order = set(), []

        def visit(s):
            if s.name in seen:
                return
            seen.add(s.name)
            for f in s.fields:
                if f.struct is not None:
                    visit(f.struct)
            order.append(s)

        for s in self.msg.structs.values():
            visit(s)
        return order

    def decl_struct(self, s, ind, is_root):
        sp = " " * ind
        out = []
        if not is_root:
            out.append(sp + "struct %s {" % s.name)
        for f in s.fields:
            out.append(sp + "  %s %s%s;" % (self.cpp_type(f), f.name, self.default_init(f)))
        out.append(sp + "  std::vector<TaggedField> unknown_tagged_fields;")
        out.append("")
        out.append(sp + "  void Read(Reader& r, int16_t version);")
        out.append(sp + "  void Write(Writer& w, int16_t version) const;")
        out.append(sp + "  bool operator==(const %s&) const = default;" % s.name)
        if self.msg.kind == "response":
            out.extend(self.decl_error_visitor(s, sp))
        if not is_root:
            out.append(sp + "};")
            out.append("")
        return out

    def holds_error_code(self, s, seen=None):
        seen = seen or set()
        if s.name in seen:
            return False
        seen.add(s.name)
        for f in s.fields:
            if f.name == "error_code" and f.elem == "int16" and not f.is_array:
                return True
            if f.struct is not None and self.holds_error_code(f.struct, seen):
                return True
        return False

    def decl_error_visitor(self, s, sp):
        """ForEachErrorCode(f): f(code) for every error_code field in the struct and those it
        holds (0 included, and fields absent from the version in use read as their default)."""
        out = ["", sp + "  // Calls f(int16_t) with every error_code here and in the structs held."]
        body = []
        for f in s.fields:
            if f.name == "error_code" and f.elem == "int16" and not f.is_array:
                body.append(sp + "    f(%s);" % f.name)
            elif f.struct is not None and self.holds_error_code(f.struct):
                if f.is_array and self.is_optional(f):
                    body.append(sp + "    if (%s.has_value()) for (const auto& e : *%s) e.ForEachErrorCode(f);"
                                % (f.name, f.name))
                elif f.is_array:
                    body.append(sp + "    for (const auto& e : %s) e.ForEachErrorCode(f);" % f.name)
                else:
                    body.append(sp + "    %s.ForEachErrorCode(f);" % f.name)
        if body:
            out.append(sp + "  template <typename F>")
            out.append(sp + "  void ForEachErrorCode(F&& f) const {")
            out.extend(body)
            out.append(sp + "  }")
        else:
            out.append(sp + "  template <typename F>")
            out.append(sp + "  void ForEachErrorCode(F&&) const {}")
        return out

    def define_struct(self, s, qual):
        out = []
        flex = self.flex_cond()
        tagged = [f for f in s.fields if f.tag is not None]
        # ---- Read
        out.append("void %s::Read(Reader& r, int16_t version) {" % qual)
        out.append("  [[maybe_unused]] const bool flex = %s;" % flex)
        for f in s.fields:
            rv = self.regular_versions(f)
            c = self.cond(rv)
            if c == "false":
                continue
            if c == "true":
                self.emit_read_value(out, f, f.name, 2)
            else:
                out.append("  if (%s) {" % c)
                self.emit_read_value(out, f, f.name, 4)
                out.append("  }")
        if flex != "false":
            if not tagged:
                out.append("  if (flex) ReadTaggedFields(r, unknown_tagged_fields);")
            else:
                out.append("  if (flex) {")
                out.append("    ReadTaggedFields(r, unknown_tagged_fields, [&](uint32_t tag, std::string_view data) {")
                out.append("      Reader& outer = r;")
                for f in tagged:
                    tc = self.cond(f.tagged)
                    out.append("      if (tag == %d && (%s)) {" % (f.tag, tc))
                    out.append("        Reader r(data);")
                    self.emit_read_value(out, f, f.name, 8)
                    out.append("        if (!r.ok()) {")
                    out.append("          outer.Fail(\"tagged field %s: \" + std::string(r.status().message()));" % f.name)
                    out.append("        } else if (r.remaining() != 0) {")
                    out.append("          outer.Fail(\"tagged field %s has trailing bytes\");" % f.name)
                    out.append("        }")
                    out.append("        return true;")
                    out.append("      }")
                out.append("      return false;")
                out.append("    });")
                out.append("  }")
        out.append("}")
        out.append("")
        # ---- Write
        out.append("void %s::Write(Writer& w, int16_t version) const {" % qual)
        out.append("  [[maybe_unused]] const bool flex = %s;" % flex)
        for f in s.fields:
            c = self.cond(self.regular_versions(f))
            if c == "false":
                continue
            if c == "true":
                self.emit_write_value(out, f, f.name, "w", 2)
            else:
                out.append("  if (%s) {" % c)
                self.emit_write_value(out, f, f.name, "w", 4)
                out.append("  }")
        if flex != "false":
            out.append("  if (flex) {")
            if tagged:
                out.append("    std::vector<TaggedField> known;")
                for f in tagged:
                    tc = self.cond(f.tagged)
                    out.append("    if ((%s) && !(%s)) {" % (tc, self.is_default_expr(f, f.name)))
                    out.append("      TaggedField& t = known.emplace_back();")
                    out.append("      t.tag = %d;" % f.tag)
                    out.append("      Writer tw(&t.data);")
                    self.emit_write_value(out, f, f.name, "tw", 6)
                    out.append("    }")
                out.append("    WriteTaggedFields(w, std::move(known), unknown_tagged_fields);")
            else:
                out.append("    if (unknown_tagged_fields.empty()) {")
                out.append("      w.WriteUnsignedVarint(0);")
                out.append("    } else {")
                out.append("      WriteTaggedFields(w, {}, unknown_tagged_fields);")
                out.append("    }")
            out.append("  }")
        out.append("}")
        out.append("")
        return out

    # ---- fill (test-only) -----------------------------------------------------------------------

    def fill_value(self, out, f, target, ind):
        sp = " " * ind
        nc = self.cond(f.nullable, f.versions) if f.nullable is not None else "false"
        e = f.elem
        if f.is_array:
            if self.is_optional(f):
                out.append(sp + "if ((%s) && fl.Null()) {" % nc)
                out.append(sp + "  %s.reset();" % target)
                out.append(sp + "} else {")
                vec = "%s.emplace()" % target
            else:
                out.append(sp + "{")
                vec = target
            out.append(sp + "  auto& vec = %s;" % vec)
            out.append(sp + "  vec.clear();")
            out.append(sp + "  const int n = fl.ArrayLength();")
            out.append(sp + "  fl.Enter();")
            out.append(sp + "  for (int i = 0; i < n; ++i) {")
            if f.struct is not None:
                out.append(sp + "    Fill(vec.emplace_back(), fl, version);")
            elif e in PRIMITIVES:
                out.append(sp + "    vec.push_back(fl.Value<%s>());" % PRIMITIVES[e][0])
            else:
                out.append(sp + "    vec.push_back(fl.Text());")
            out.append(sp + "  }")
            out.append(sp + "  fl.Leave();")
            out.append(sp + "}")
        elif f.struct is not None:
            out.append(sp + "Fill(%s, fl, version);" % target)
        elif e in PRIMITIVES:
            out.append(sp + "%s = fl.Value<%s>();" % (target, PRIMITIVES[e][0]))
        else:
            if self.is_optional(f):
                out.append(sp + "if ((%s) && fl.Null()) %s.reset(); else %s = fl.Text();" % (nc, target, target))
            else:
                out.append(sp + "%s = fl.Text();" % target)

    def define_fill(self, s, qual):
        out = ["void Fill(%s& m, Filler& fl, int16_t version) {" % qual]
        out.append("  [[maybe_unused]] const bool flex = %s;" % self.flex_cond())
        max_tag = -1
        for f in s.fields:
            vr = f.tagged if f.tag is not None else f.versions
            c = self.cond(vr)
            if f.tag is not None:
                max_tag = max(max_tag, f.tag)
            if c == "false":
                continue
            cc = c if f.tag is None else "(%s) && fl.SetTagged()" % c
            out.append("  if (%s) {" % cc)
            self.fill_value(out, f, "m." + f.name, 4)
            out.append("  }")
        out.append("  m.unknown_tagged_fields.clear();")
        out.append("  if (flex) fl.UnknownTags(m.unknown_tagged_fields, %d);" % (max_tag + 1))
        out.append("}")
        out.append("")
        return out


def header_for(api):
    guard_ns = "chronik::protocol"
    out = ["#pragma once", "",
           "// Generated by chronik_protocol/codegen/generate.py from schema/%s.schema. Do not edit." % api.base,
           "", "#include <cstdint>", "#include <optional>", "#include <string>", "#include <string_view>",
           "#include <vector>", "", '#include "absl/status/status.h"', '#include "chronik_protocol/wire.h"', "",
           "namespace %s {" % guard_ns, ""]
    lo, hi = api.versions
    for msg in api.messages:
        g = Gen(api, msg)
        flex = msg.flexible
        flex_from = -1 if flex is None else flex[0]
        out.append("struct %s {" % msg.name)
        out.append("  static constexpr int16_t kApiKey = %d;" % api.key)
        out.append('  static constexpr std::string_view kApiName = "%s";' % api.name)
        out.append("  static constexpr int16_t kMinVersion = %d;" % lo)
        out.append("  static constexpr int16_t kMaxVersion = %d;" % hi)
        out.append("  // First flexible version (compact encodings, tagged fields); -1: none.")
        out.append("  static constexpr int16_t kFirstFlexibleVersion = %d;" % flex_from)
        out.append("  static constexpr bool IsFlexible(int16_t v) { return %s; }"
                   % ("false" if flex is None else "v >= %d" % flex_from))
        out.append("")
        for s in g.struct_order():
            out.extend(g.decl_struct(s, 2, False))
        out.extend(g.decl_struct(msg.root, 0, True))
        out.append("")
        out.append("  // Decodes the body of a %s of the given version; fails on any malformed input."
                   % msg.kind)
        out.append("  absl::Status Decode(Reader& r, int16_t version);")
        out.append("  void Encode(Writer& w, int16_t version) const { Write(w, version); }")
        out.append("};")
        out.append("")
    out.append("}  // namespace %s" % guard_ns)
    return "\n".join(out) + "\n"


def source_for(api):
    out = ["// Generated by chronik_protocol/codegen/generate.py from schema/%s.schema. Do not edit." % api.base,
           "", '#include "chronik_protocol/messages/%s.h"' % api.base, "", "#include <utility>", "",
           "namespace chronik::protocol {", ""]
    for msg in api.messages:
        g = Gen(api, msg)
        for s in g.struct_order():
            out.extend(g.define_struct(s, "%s::%s" % (msg.name, s.name)))
        out.extend(g.define_struct(msg.root, msg.name))
        out.append("absl::Status %s::Decode(Reader& r, int16_t version) {" % msg.name)
        out.append("  if (version < kMinVersion || version > kMaxVersion) {")
        out.append('    return absl::InvalidArgumentError("%s version " + std::to_string(version) + " is not defined");'
                   % msg.name)
        out.append("  }")
        out.append("  Read(r, version);")
        out.append("  return r.status();")
        out.append("}")
        out.append("")
    out.append("}  // namespace chronik::protocol")
    return "\n".join(out) + "\n"


def fill_source_for(api):
    out = ["// Generated by chronik_protocol/codegen/generate.py from schema/%s.schema. Do not edit." % api.base,
           "", '#include "chronik_protocol/messages/fill.h"', "", "namespace chronik::protocol {", ""]
    for msg in api.messages:
        g = Gen(api, msg)
        for s in g.struct_order():
            out.extend(g.define_fill(s, "%s::%s" % (msg.name, s.name)))
        out.extend(g.define_fill(msg.root, msg.name))
    out.append("}  // namespace chronik::protocol")
    return "\n".join(out) + "\n"


def fill_header(apis):
    out = ["#pragma once", "", "// Generated by chronik_protocol/codegen/generate.py. Do not edit.",
           "// Test-only: fills any message with values valid for a given version.", "",
           '#include "chronik_protocol/messages/all_messages.h"', '#include "chronik_protocol/testing/filler.h"',
           "", "namespace chronik::protocol {", ""]
    for api in apis:
        for msg in api.messages:
            g = Gen(api, msg)
            for s in g.struct_order():
                out.append("void Fill(%s::%s& m, Filler& fl, int16_t version);" % (msg.name, s.name))
            out.append("void Fill(%s& m, Filler& fl, int16_t version);" % msg.name)
    out.append("")
    out.append("}  // namespace chronik::protocol")
    return "\n".join(out) + "\n"


def all_header(apis):
    out = ["#pragma once", "", "// Generated by chronik_protocol/codegen/generate.py. Do not edit.",
           "// Every API the codec knows, from its schema files.", ""]
    for api in apis:
        out.append('#include "chronik_protocol/messages/%s.h"' % api.base)
    out.append("")
    out.append("// X(Name, RequestType, ResponseType) for every API, in API-key order.")
    out.append("#define CHRONIK_FOR_EACH_API(X) \\")
    ordered = sorted(apis, key=lambda a: a.key)
    for i, api in enumerate(ordered):
        tail = " \\" if i + 1 < len(ordered) else ""
        out.append("  X(%s, %s, %s)%s" % (api.name, api.messages[0].name, api.messages[1].name, tail))
    out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("schemas", nargs="+")
    args = ap.parse_args()
    apis = []
    try:
        for p in args.schemas:
            apis.append(parse_schema(p))
    except SchemaError as e:
        print("schema error: %s" % e, file=sys.stderr)
        return 1
    keys = {}
    for a in apis:
        if a.key in keys:
            print("schema error: API key %d used by %s and %s" % (a.key, keys[a.key], a.name), file=sys.stderr)
            return 1
        keys[a.key] = a.name
        for m in a.messages:
            for s in [m.root] + list(m.structs.values()):
                for f in s.fields:
                    if f.tagged is not None and f.tagged != f.versions:
                        print("schema error: %s: tagged versions must equal the field's versions" % f.where,
                              file=sys.stderr)
                        return 1
    os.makedirs(args.out, exist_ok=True)
    try:
        for api in apis:
            with open(os.path.join(args.out, api.base + ".h"), "w") as f:
                f.write(header_for(api))
            with open(os.path.join(args.out, api.base + ".cc"), "w") as f:
                f.write(source_for(api))
            with open(os.path.join(args.out, api.base + "_fill.cc"), "w") as f:
                f.write(fill_source_for(api))
        with open(os.path.join(args.out, "all_messages.h"), "w") as f:
            f.write(all_header(apis))
        with open(os.path.join(args.out, "fill.h"), "w") as f:
            f.write(fill_header(apis))
    except SchemaError as e:
        print("schema error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
