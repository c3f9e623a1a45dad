//! The C library surface libwebp needs inside wasm32-unknown-unknown (there is no libc there):
//! malloc/calloc/realloc/free on Rust's allocator, plus qsort and bsearch. memcpy & co. and libm
//! come from compiler_builtins. Compiled for wasm only: natively these names are libc's.
//! Every missing symbol would become an `env.*` import (the link does not fail), which
//! tests/image/imports.test.mjs refuses.
use core::ffi::c_void;
use std::alloc::{alloc, alloc_zeroed, dealloc, realloc as rust_realloc, Layout};

// Each block carries its total size in a 16-byte header, so free() can rebuild the Layout.
const HDR: usize = 16;
const ALIGN: usize = 16;

unsafe fn layout(total: usize) -> Layout {
    // SAFETY: ALIGN is a power of two and callers check `total` for overflow.
    unsafe { Layout::from_size_align_unchecked(total, ALIGN) }
}

#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    let Some(total) = size.checked_add(HDR) else {
        return core::ptr::null_mut();
    };
    // SAFETY: non-zero size; the header write stays inside the block.
    unsafe {
        let p = alloc(layout(total));
        if p.is_null() {
            return p.cast();
        }
        p.cast::<usize>().write(total);
        p.add(HDR).cast()
    }
}

#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size).and_then(|b| b.checked_add(HDR)) else {
        return core::ptr::null_mut();
    };
    // SAFETY: as malloc.
    unsafe {
        let p = alloc_zeroed(layout(total));
        if p.is_null() {
            return p.cast();
        }
        p.cast::<usize>().write(total);
        p.add(HDR).cast()
    }
}

#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: ptr came from malloc/calloc/realloc above, so the header precedes it.
    unsafe {
        let p = ptr.cast::<u8>().sub(HDR);
        dealloc(p, layout(p.cast::<usize>().read()));
    }
}

#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        // SAFETY: plain allocation.
        return unsafe { malloc(size) };
    }
    if size == 0 {
        // SAFETY: ptr is ours.
        unsafe { free(ptr) };
        return core::ptr::null_mut();
    }
    let Some(new_total) = size.checked_add(HDR) else {
        return core::ptr::null_mut();
    };
    // SAFETY: ptr is ours; the header holds the old layout.
    unsafe {
        let p = ptr.cast::<u8>().sub(HDR);
        let q = rust_realloc(p, layout(p.cast::<usize>().read()), new_total);
        if q.is_null() {
            return q.cast();
        }
        q.cast::<usize>().write(new_total);
        q.add(HDR).cast()
    }
}

type Cmp = unsafe extern "C" fn(*const c_void, *const c_void) -> i32;

#[no_mangle]
pub unsafe extern "C" fn qsort(base: *mut c_void, n: usize, size: usize, cmp: Cmp) {
    if n < 2 || size == 0 {
        return;
    }
    let b = base.cast::<u8>();
    // SAFETY: libwebp passes an array of n elements of `size` bytes and a total-order comparator.
    unsafe {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&i, &j| cmp(b.add(i * size).cast(), b.add(j * size).cast()).cmp(&0));
        let src = core::slice::from_raw_parts(b, n * size).to_vec();
        for (dst, &i) in idx.iter().enumerate() {
            core::ptr::copy_nonoverlapping(src.as_ptr().add(i * size), b.add(dst * size), size);
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn bsearch(
    key: *const c_void,
    base: *const c_void,
    n: usize,
    size: usize,
    cmp: Cmp,
) -> *mut c_void {
    let (mut lo, mut hi) = (0usize, n);
    let b = base.cast::<u8>();
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // SAFETY: mid < n, inside the caller's array.
        let p = unsafe { b.add(mid * size) }.cast::<c_void>();
        // SAFETY: the caller's comparator on the caller's key and element.
        let r = unsafe { cmp(key, p) };
        if r == 0 {
            return p.cast_mut();
        }
        if r < 0 {
            hi = mid
        } else {
            lo = mid + 1
        }
    }
    core::ptr::null_mut()
}
