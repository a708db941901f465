//! Views of the little-endian tables that `build.rs` writes and the binary
//! embeds with `include_bytes!`, so that nothing is parsed at start-up.

/// Bytes embedded with 4-byte alignment, so they can be read as `u32`s or
/// `u16`s in place.
#[repr(C)]
pub struct AlignedBytes<Bytes: ?Sized> {
    /// Zero-sized; gives the struct the alignment of `u32`.
    pub _align: [u32; 0],
    /// The embedded bytes.
    pub bytes: Bytes,
}

/// Reads embedded bytes as `u32`s.
#[inline]
pub fn aligned_u32s(table: &'static AlignedBytes<[u8]>) -> &'static [u32] {
    bytemuck::cast_slice(&table.bytes)
}

/// Reads embedded bytes as `u16`s.
#[inline]
pub fn aligned_u16s(table: &'static AlignedBytes<[u8]>) -> &'static [u16] {
    bytemuck::cast_slice(&table.bytes)
}
