//! libwebp (C, BSD) glue shared by the encoder and the decoder.
//!
//! In wasm, libwebp's SSE2 and SSE4.1 code paths are compiled through SIMDe's SSE → simd128
//! translation (wasm/simd/clang). libwebp picks them at run time by asking its CPU-info hook,
//! `VP8GetCPUInfo`, which it leaves NULL on an architecture it does not know (wasm32 outside
//! Emscripten), so every dsp init would choose the plain C. [`use_simd`] points the hook at an
//! answer that says what the C build holds; the native build keeps libwebp's own cpuid probe.

/// Sets libwebp's CPU-info hook, in wasm; call before each libwebp encode or decode. Cheap: a
/// store of the same pointer. libwebp's dsp init functions remember the hook they last ran
/// with and only run again when it changes, so the first call after this picks the SIMD paths.
#[cfg(target_arch = "wasm32")]
pub(crate) fn use_simd() {
    use core::ffi::c_int;
    type CpuInfo = unsafe extern "C" fn(feature: c_int) -> c_int;
    extern "C" {
        // src/dsp/cpu.c: `VP8CPUInfo VP8GetCPUInfo;`, a plain global function pointer.
        static mut VP8GetCPUInfo: Option<CpuInfo>;
    }
    /// `CPUFeature` in libwebp's src/dsp/cpu.h: kSSE2 = 0, kSSE3 = 1, kSlowSSSE3 = 2,
    /// kSSE4_1 = 3, then AVX, AVX2, NEON, MIPS. Yes to SSE2, SSE3 and SSE4.1, which the wasm
    /// C build compiles (an init only calls a path its file was compiled with, so saying yes to
    /// a missing one is harmless). No to kSlowSSSE3: it selects an alternative coefficient
    /// reader meant for Atom CPUs, which x86 hosts, and so the native build, do not use.
    unsafe extern "C" fn wasm_cpu_info(feature: c_int) -> c_int {
        c_int::from(matches!(feature, 0 | 1 | 3))
    }
    // SAFETY: wasm32 here is single-threaded; the pointer is only read by libwebp's dsp inits,
    // which run inside the libwebp calls that follow on this same thread.
    unsafe { core::ptr::addr_of_mut!(VP8GetCPUInfo).write(Some(wasm_cpu_info)) }
}

/// Natively libwebp probes the CPU itself (cpuid).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn use_simd() {}
