//! Block type codes and their names.

/// Section header block.
pub const SHB: u32 = 0x0A0D_0D0A;
/// Byte-order magic stored in the section header.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;
/// pcapng custom block ("do not copy" variant): Osprey writes one, holding a
/// zero enterprise number and [`EXIT_ONLY_TAG`], before the metadata of a
/// capture whose events are exit-only. Readers that do not know it (sysdig)
/// skip it; section header options would stop sysdig 0.29.3.
pub const CUSTOM: u32 = 0x4000_0BAD;
/// Payload of the [`CUSTOM`] block marking exit-only events
/// ([`osprey_event::snapshot::Snapshot::exit_only`]).
pub const EXIT_ONLY_TAG: &[u8] = b"osprey-live\0";
/// Machine info.
pub const MI: u32 = 0x201;
/// Machine info, legacy code.
pub const MI_INT: u32 = 0x8002_ABCD;
/// Process list v1.
pub const PL_V1: u32 = 0x202;
/// Process list v1, legacy code.
pub const PL_V1_INT: u32 = 0x8000_ABCD;
/// Process list v2.
pub const PL_V2: u32 = 0x207;
/// Process list v2, legacy code.
pub const PL_V2_INT: u32 = 0x8013_ABCD;
/// Process list v3.
pub const PL_V3: u32 = 0x209;
/// Process list v3, legacy code.
pub const PL_V3_INT: u32 = 0x8014_ABCD;
/// Process list v4.
pub const PL_V4: u32 = 0x210;
/// Process list v5.
pub const PL_V5: u32 = 0x211;
/// Process list v6.
pub const PL_V6: u32 = 0x212;
/// Process list v7.
pub const PL_V7: u32 = 0x213;
/// Process list v8.
pub const PL_V8: u32 = 0x214;
/// Process list v9 (current).
pub const PL_V9: u32 = 0x215;
/// Fd list v1.
pub const FDL: u32 = 0x203;
/// Fd list v1, legacy code.
pub const FDL_INT: u32 = 0x8001_ABCD;
/// Fd list v2 (entries carry their length).
pub const FDL_V2: u32 = 0x218;
/// Event with the 22-byte v1 header.
pub const EV: u32 = 0x204;
/// Event with the v1 header, legacy code.
pub const EV_INT: u32 = 0x8010_ABCD;
/// Event with the v2 header.
pub const EV_V2: u32 = 0x216;
/// Large-payload event with the v2 header.
pub const EV_V2_LARGE: u32 = 0x221;
/// Event with flags, v1 header.
pub const EVF: u32 = 0x208;
/// Event with flags, v2 header.
pub const EVF_V2: u32 = 0x217;
/// Large-payload event with flags, v2 header.
pub const EVF_V2_LARGE: u32 = 0x222;
/// Interface list v1.
pub const IL: u32 = 0x205;
/// Interface list v1, legacy code.
pub const IL_INT: u32 = 0x8011_ABCD;
/// Interface list v2.
pub const IL_V2: u32 = 0x219;
/// User list v1.
pub const UL: u32 = 0x206;
/// User list v1, legacy code.
pub const UL_INT: u32 = 0x8012_ABCD;
/// User list v2.
pub const UL_V2: u32 = 0x220;

/// The conventional name of a block type (`"EV_V2"`, `"PL_V9"`), or `"unknown"`.
pub fn name(btype: u32) -> &'static str {
    match btype {
        SHB => "SHB",
        MI | MI_INT => "MI",
        PL_V1 | PL_V1_INT => "PL_V1",
        PL_V2 | PL_V2_INT => "PL_V2",
        PL_V3 | PL_V3_INT => "PL_V3",
        PL_V4 => "PL_V4",
        PL_V5 => "PL_V5",
        PL_V6 => "PL_V6",
        PL_V7 => "PL_V7",
        PL_V8 => "PL_V8",
        PL_V9 => "PL_V9",
        FDL | FDL_INT => "FDL",
        FDL_V2 => "FDL_V2",
        EV | EV_INT => "EV",
        EV_V2 => "EV_V2",
        EV_V2_LARGE => "EV_V2_LARGE",
        EVF => "EVF",
        EVF_V2 => "EVF_V2",
        EVF_V2_LARGE => "EVF_V2_LARGE",
        IL | IL_INT => "IL",
        IL_V2 => "IL_V2",
        UL | UL_INT => "UL",
        UL_V2 => "UL_V2",
        _ => "unknown",
    }
}

/// Whether `btype` is one of the event block types.
pub fn is_event(btype: u32) -> bool {
    matches!(
        btype,
        EV | EV_INT | EV_V2 | EV_V2_LARGE | EVF | EVF_V2 | EVF_V2_LARGE
    )
}

/// Whether `btype` is a block type this crate knows (event or metadata).
pub fn is_known(btype: u32) -> bool {
    name(btype) != "unknown"
}
