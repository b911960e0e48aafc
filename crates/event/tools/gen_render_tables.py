#!/usr/bin/env python3
"""Generates crates/event/src/{flags.rs,syscalls.rs} from the facts in the
libscap shared library that Debian's sysdig 0.29.3 links
(falcosecurity/libs e5c53d64, 2022-03-16) and from the current event table
(shared/specs/scap-event-table.tsv).

It reads the exported data symbols of the library (flag-name tables,
g_event_info, g_syscall_info_table) by parsing the ELF file directly.

usage: python3 crates/event/tools/gen_render_tables.py [LIBSCAP] [TSV]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = sys.argv[1] if len(sys.argv) > 1 else \
    '/lib/x86_64-linux-gnu/libscap.so.0.1.1dev+git20220316.e5c53d64'
TSV = sys.argv[2] if len(sys.argv) > 2 else \
    os.path.join(HERE, '../../../../shared/specs/scap-event-table.tsv')
SRC = os.path.join(HERE, '../src')


class Elf:
    """Minimal ELF64 little-endian reader: sections, dynsym, relocations."""

    def __init__(self, path):
        self.data = data = open(path, 'rb').read()
        shoff = struct.unpack_from('<Q', data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
        phoff = struct.unpack_from('<Q', data, 0x20)[0]
        phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
        secs = []
        for i in range(shnum):
            f = struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)
            secs.append(dict(name=f[0], type=f[1], off=f[4], size=f[5]))
        for s in secs:
            s['name'] = self.cstr(secs[shstrndx]['off'] + s['name'])
        self.loads = []
        for i in range(phnum):
            f = struct.unpack_from('<IIQQQQQQ', data, phoff + i * phentsize)
            if f[0] == 1:
                self.loads.append((f[3], f[2], f[5]))
        by = {s['name']: s for s in secs}
        dsym, dstr = by['.dynsym'], by['.dynstr']
        syms = []
        for i in range(dsym['size'] // 24):
            st_name, _, _, _, val, size = struct.unpack_from('<IBBHQQ', data, dsym['off'] + i * 24)
            syms.append((self.cstr(dstr['off'] + st_name), val, size))
        self.sym = {n: (v, s) for n, v, s in syms if v}
        self.addr2sym = {v: n for n, v, s in syms if v}
        self.rel = {}
        for s in secs:
            if s['type'] != 4:
                continue
            for i in range(s['size'] // 24):
                off, info, add = struct.unpack_from('<QQq', data, s['off'] + i * 24)
                t, si = info & 0xffffffff, info >> 32
                if t == 8:
                    self.rel[off] = add
                elif t in (1, 6):
                    self.rel[off] = syms[si][1] + add

    def cstr(self, off):
        return self.data[off:self.data.index(b'\0', off)].decode('latin1')

    def v2o(self, v):
        for va, off, sz in self.loads:
            if va <= v < va + sz:
                return v - va + off
        raise KeyError(hex(v))

    def ptr(self, v):
        if v in self.rel:
            return self.rel[v]
        return struct.unpack_from('<Q', self.data, self.v2o(v))[0]

    def u32(self, v):
        return struct.unpack_from('<I', self.data, self.v2o(v))[0]

    def fixed(self, v, n):
        o = self.v2o(v)
        return self.data[o:o + n].split(b'\0')[0].decode()


elf = Elf(LIB)

# ppm_event_info is packed: name[32], category, flags, nparams, params[32];
# ppm_param_info is packed: name[32], type, fmt, info pointer, ninfo.
EV_SIZE, P_SIZE = 1612, 49
ev_addr, ev_size = elf.sym['g_event_info']
old_events = []
OLD_FMT = []
for i in range(ev_size // EV_SIZE):
    base = ev_addr + i * EV_SIZE
    name = elf.fixed(base, 32)
    npar = elf.u32(base + 40)
    params = []
    fmts = []
    for j in range(npar):
        pb = base + 44 + j * P_SIZE
        pname = elf.fixed(pb, 32)
        ptype = elf.u32(pb + 32)
        info = elf.ptr(pb + 40)
        ninfo = elf.data[elf.v2o(pb + 48)]
        params.append((pname, ptype, elf.addr2sym.get(info, info), ninfo))
        fmts.append(elf.u32(pb + 36))
    old_events.append((name, params))
    OLD_FMT.append(fmts)

PT_FLAGS = {28, 29, 30, 44, 45, 46}
PT_DYN, PT_MODE, PT_FSRELPATH = 27, 42, 43
PT_NAMES = {}

tables = {}
dyns = {}
for _, params in old_events:
    for pname, ptype, info, ninfo in params:
        if (ptype in PT_FLAGS or ptype == PT_MODE) and isinstance(info, str):
            tables[info] = None
        elif ptype == PT_DYN and isinstance(info, str):
            dyns[info] = ninfo
for t in tables:
    addr, size = elf.sym[t]
    ents = []
    for a in range(addr, addr + size, 16):
        np = elf.ptr(a)
        if np == 0:
            break
        ents.append((elf.cstr(elf.v2o(np)), elf.u32(a + 8)))
    tables[t] = ents
dyn_tables = {}
for d, n in dyns.items():
    addr, _ = elf.sym[d]
    dyn_tables[d] = [(elf.u32(addr + i * P_SIZE + 32), elf.u32(addr + i * P_SIZE + 36))
                     for i in range(n)]

# current table
cur = []
for line in open(TSV):
    if line.startswith('#') or not line.strip():
        continue
    cols = line.rstrip('\n').split('\t')
    num, name = int(cols[1]), cols[2]
    params = []
    if len(cols) > 7 and cols[7].strip():
        for p in cols[7].split(', '):
            pname, rest = p.split(':', 1)
            params.append((pname, rest.split('/')[0]))
    cur.append((num, name, params))

CUR_FLAGS = {'FLAGS8', 'FLAGS16', 'FLAGS32', 'ENUMFLAGS8', 'ENUMFLAGS16', 'ENUMFLAGS32'}


def old_info(num, ename, idx, pname, want):
    """The 2022 info of the same param: same slot first, then by names."""
    if num < len(old_events):
        ps = old_events[num][1]
        if idx < len(ps) and ps[idx][0] == pname and ps[idx][1] in want:
            return ps[idx][2]
    for oname, ps in old_events:
        if oname == ename:
            for p in ps:
                if p[0] == pname and p[1] in want and (p[2] or p[1] == PT_FSRELPATH):
                    return p[2]
    return None


flag_map, mode_map, dirfd_map, dyn_map = {}, {}, {}, {}
for num, ename, params in cur:
    for idx, (pname, ptype) in enumerate(params):
        if ptype in CUR_FLAGS:
            t = old_info(num, ename, idx, pname, PT_FLAGS)
            if isinstance(t, str):
                flag_map.setdefault(t, []).append((num, idx))
        elif ptype == 'MODE':
            t = old_info(num, ename, idx, pname, {PT_MODE})
            if isinstance(t, str):
                mode_map.setdefault(t, []).append((num, idx))
        elif ptype == 'FSRELPATH':
            t = old_info(num, ename, idx, pname, {PT_FSRELPATH})
            if isinstance(t, int):
                dirfd_map.setdefault(t, []).append((num, idx))
        elif ptype == 'DYN':
            t = old_info(num, ename, idx, pname, {PT_DYN})
            if isinstance(t, str):
                dyn_map.setdefault(t, []).append((num, idx))

PT_RUST = {1: 'Int8', 2: 'Int16', 3: 'Int32', 4: 'Int64', 5: 'Uint8', 6: 'Uint16', 7: 'Uint32',
           8: 'Uint64', 9: 'CharBuf', 10: 'ByteBuf', 11: 'Errno', 14: 'Fd', 15: 'Pid', 17: 'FsPath',
           19: 'SigType', 20: 'RelTime', 28: 'Flags8', 29: 'Flags16', 30: 'Flags32', 31: 'Uid',
           43: 'FsRelPath'}
PT_TSV = {'INT8': 1, 'INT16': 2, 'INT32': 3, 'INT64': 4, 'UINT8': 5, 'UINT16': 6, 'UINT32': 7,
          'UINT64': 8, 'ERRNO': 11, 'PID': 15, 'UID': 31, 'ENUMFLAGS8': 44, 'ENUMFLAGS16': 45,
          'ENUMFLAGS32': 46, 'FLAGS8': 28, 'FLAGS16': 29, 'FLAGS32': 30}
PF_TSV = {'DEC': 1, 'HEX': 2, 'OCT': 6}
ENUM_OF = {44: 28, 45: 29, 46: 30}
compat = []
for num, ename, params in cur:
    if num >= len(old_events):
        break
    for idx, (pname, ptype) in enumerate(params):
        ops = old_events[num][1]
        if idx >= len(ops):
            continue
        oname, otype = ops[idx][0], ops[idx][1]
        ofmt = OLD_FMT[num][idx]
        cty = PT_TSV.get(ptype.split('/')[0])
        cfmt = PF_TSV.get(ptype.split('/')[1], 1) if '/' in ptype else None
        same_ty = cty is not None and (cty == otype or ENUM_OF.get(cty) == otype)
        if oname != pname or (cty is not None and not same_ty) or \
                (cfmt is not None and ofmt not in (0, cfmt)):
            compat.append((num, idx, oname, otype, ofmt))

PF_RUST = {0: 'Na', 1: 'Dec', 2: 'Hex', 3: 'PaddedDec', 4: 'Id', 5: 'Dir', 6: 'Oct'}


def arms(m, val):
    lines = []
    for key in sorted(m, key=lambda k: str(k)):
        pats = ' | '.join(f'({n}, {i})' for n, i in sorted(m[key]))
        lines.append(f'        {pats} => Some({val(key)}),')
    return '\n'.join(lines)


o = []
o.append('''//! Flag-name tables and which parameter uses which table.
//!
//! @generated by `python3 crates/event/tools/gen_render_tables.py` from the
//! tables of libscap e5c53d64 (2022-03-16, the libs sysdig 0.29.3 uses) and
//! the current event table. Do not edit by hand.
//!
//! Values are the driver's `PPM_*` encodings, not the kernel's (e.g.
//! `O_RDONLY` is 1).

use crate::table::{ParamType, PrintFormat};

/// One flag-name table (`ppm_name_value[]`), in upstream order: rendering
/// walks it front to back, so the order is significant.
#[derive(Debug)]
pub struct FlagTable {
    /// The upstream table name, e.g. `file_flags`.
    pub name: &'static str,
    /// `(name, value)` pairs in upstream order.
    pub entries: &'static [(&'static str, u32)],
}
''')
for t in sorted(tables):
    o.append(f'/// The `{t}` table.')
    o.append(f'pub static {t.upper()}: FlagTable = FlagTable {{')
    o.append(f'    name: "{t}",')
    o.append('    entries: &[')
    for n, v in tables[t]:
        o.append(f'        ("{n}", {v}),')
    o.append('    ],')
    o.append('};')
    o.append('')
for d in sorted(dyn_tables):
    o.append(f'/// The `{d}` table: the type of a `PT_DYN` value by its index byte.')
    o.append(f'pub static {d.upper()}: [(ParamType, PrintFormat); {len(dyn_tables[d])}] = [')
    for ty, fmt in dyn_tables[d]:
        o.append(f'    (ParamType::{PT_RUST[ty]}, PrintFormat::{PF_RUST[fmt]}),')
    o.append('];')
    o.append('')
o.append('''/// The flag table of a `FLAGS*`/`ENUMFLAGS*` parameter of an event type.
pub fn flag_table(etype: u16, idx: usize) -> Option<&'static FlagTable> {
    match (etype, idx) {
''' + arms(flag_map, lambda k: '&' + k.upper()) + '''
        _ => None,
    }
}

/// The flag table of a `MODE` parameter of an event type.
pub fn mode_table(etype: u16, idx: usize) -> Option<&'static FlagTable> {
    match (etype, idx) {
''' + arms(mode_map, lambda k: '&' + k.upper()) + '''
        _ => None,
    }
}

/// For an `FSRELPATH` parameter, the index of the parameter holding the
/// directory fd it is relative to.
pub fn dirfd_param(etype: u16, idx: usize) -> Option<usize> {
    match (etype, idx) {
''' + arms(dirfd_map, str) + '''
        _ => None,
    }
}

/// The name, type and print format sysdig 0.29.3 uses for a parameter whose
/// current table entry differs from its 2022 one (renamed, retyped), if any.
pub fn compat_param(etype: u16, idx: usize) -> Option<(&'static str, ParamType, PrintFormat)> {
    match (etype, idx) {
''' + '\n'.join(f'        ({n}, {i}) => Some(("{nm}", ParamType::{PT_RUST[t]}, PrintFormat::{PF_RUST[f]})),' for n, i, nm, t, f in compat) + '''
        _ => None,
    }
}

/// For a `DYN` parameter, the types selected by its leading index byte.
pub fn dyn_types(etype: u16, idx: usize) -> Option<&'static [(ParamType, PrintFormat)]> {
    match (etype, idx) {
''' + arms(dyn_map, lambda k: '&' + k.upper()) + '''
        _ => None,
    }
}
''')
open(os.path.join(SRC, 'flags.rs'), 'w').write('\n'.join(o))

# syscall names (PPM_SC codes of the 2022 driver)
sc_addr, sc_size = elf.sym['g_syscall_info_table']
names = []
for i in range(sc_size // 16):
    np = elf.ptr(sc_addr + i * 16 + 8)
    names.append(elf.cstr(elf.v2o(np)) if np else '')
s = ['''//! Names of the `PPM_SC_*` system call codes carried by `SYSCALLID`
//! parameters (the `ID` of generic `syscall` events).
//!
//! @generated by `python3 crates/event/tools/gen_render_tables.py` from the
//! `g_syscall_info_table` of libscap e5c53d64 (2022-03-16), whose numbering
//! the drivers of that era wrote into capture files. Do not edit by hand.

/// Number of `PPM_SC_*` codes known (`PPM_SC_MAX` of that driver).
pub const PPM_SC_MAX: usize = %d;

static NAMES: [&str; PPM_SC_MAX] = [''' % len(names)]
for n in names:
    s.append(f'    "{n}",')
s.append('''];

/// The name sysdig 0.29.3 shows for a `PPM_SC_*` code (`<unknown>` for 0),
/// `None` past the end of the table.
///
/// ```
/// assert_eq!(osprey_event::syscalls::syscall_name(3), Some("read"));
/// assert_eq!(osprey_event::syscalls::syscall_name(9999), None);
/// ```
pub fn syscall_name(id: u16) -> Option<&'static str> {
    NAMES.get(usize::from(id)).copied()
}
''')
open(os.path.join(SRC, 'syscalls.rs'), 'w').write('\n'.join(s))
print('tables', len(tables), 'dyn', len(dyn_tables), 'syscalls', len(names))
