//! Memory plumbing of the three plain C-ABI modules built from this crate without wasm-bindgen:
//! the bucketing engine (`bucketing_engine`), the server module (`server`) and the web build's
//! first stage (`first_flag`). Text crosses as UTF-8 bytes in the module's memory: the loader asks
//! for a buffer with [`alloc`], writes the argument, calls, and gives the buffer back with
//! [`free`]. On wasm32 the two are exported under their names (a build is one of the modules);
//! natively they are plain functions, since a `free` symbol would replace libc's.

use alloc::vec::Vec;

/// The bytes of an argument.
///
/// # Safety
/// `ptr` must be readable for `len` bytes (from [`alloc`]), or `len` must be 0.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// `len` writable bytes for an argument.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = core::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(len));
    buffer.as_mut_ptr()
}

/// Gives back a buffer from [`alloc`].
///
/// # Safety
/// `ptr` must come from `alloc(len)`, with the same `len`, and not be freed twice.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut u8, len: usize) {
    // SAFETY: `alloc(len)` made this pointer as a `Vec<u8>` of capacity `len`.
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len) });
}
