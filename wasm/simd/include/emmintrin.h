/* SSE2 intrinsics for the wasm32 C build (libwebp's *_sse2.c): SIMDe's implementations under the
 * _mm_* names, which clang lowers to simd128 with -msimd128. Only the wasm C build sees this
 * directory (wasm/simd/clang puts it first on the include path); native builds use the real one.
 *
 * Debian's SIMDe 0.7.4 has no simd128 version of a few intrinsics libwebp's hot loops use: its
 * portable loops compile to lane-by-lane code through the stack (a 600 px encode took 250 ms
 * instead of 54 ms with plain C). Those are replaced below by their simd128 equivalents, each
 * exact (same result for every input) — libwebp's SSE2 code is bit-exact with its C, and the
 * wasm output must stay byte-identical to the native build's. Found by compiling every _mm_*
 * libwebp uses on its own and looking for loops and scalar code in the result. */
#ifndef SCALEFRONT_WASM_EMMINTRIN_H
#define SCALEFRONT_WASM_EMMINTRIN_H
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/sse2.h>
#include <wasm_simd128.h>

/* pmullw: the low 16 bits of each 16×16 product. */
static inline __m128i scalefront_mm_mullo_epi16(__m128i a, __m128i b) {
  return wasm_i16x8_mul(a, b);
}
/* pmulhw / pmulhuw: the high 16 bits of each 32-bit product, i.e. the odd 16-bit halves of the
 * widened products (little-endian lanes). */
static inline __m128i scalefront_mm_mulhi_epi16(__m128i a, __m128i b) {
  return wasm_i16x8_shuffle(wasm_i32x4_extmul_low_i16x8(a, b), wasm_i32x4_extmul_high_i16x8(a, b),
                            1, 3, 5, 7, 9, 11, 13, 15);
}
static inline __m128i scalefront_mm_mulhi_epu16(__m128i a, __m128i b) {
  return wasm_i16x8_shuffle(wasm_u32x4_extmul_low_u16x8(a, b), wasm_u32x4_extmul_high_u16x8(a, b),
                            1, 3, 5, 7, 9, 11, 13, 15);
}
/* pmaddwd is exactly simd128's i32x4.dot_i16x8_s (including the -32768² + -32768² wrap). */
static inline __m128i scalefront_mm_madd_epi16(__m128i a, __m128i b) {
  return wasm_i32x4_dot_i16x8(a, b);
}
/* psadbw: |a - b| per byte, summed over each 8-byte half into that half's 64-bit lane. */
static inline __m128i scalefront_mm_sad_epu8(__m128i a, __m128i b) {
  v128_t d = wasm_v128_or(wasm_u8x16_sub_sat(a, b), wasm_u8x16_sub_sat(b, a));
  v128_t s = wasm_u32x4_extadd_pairwise_u16x8(wasm_u16x8_extadd_pairwise_u8x16(d));
  s = wasm_i32x4_add(s, wasm_u64x2_shr(s, 32)); /* 32-bit lanes 0 and 2 hold the sums */
  return wasm_v128_and(s, wasm_i64x2_splat(0xffffffff));
}
/* pmovmskb: the top bit of each byte. */
static inline int scalefront_mm_movemask_epi8(__m128i a) {
  return (int)wasm_i8x16_bitmask(a);
}
/* maskmovdqu: stores the bytes of `a` whose mask byte has its top bit set. This version reads
 * all 16 bytes at `p` and writes the unselected ones back unchanged, which is the same for
 * libwebp's one use (alpha_processing_sse2.c, whole 16-byte groups inside an RGBA row, one
 * thread) but would not be for a partial block at the end of a buffer. */
static inline void scalefront_mm_maskmoveu_si128(__m128i a, __m128i mask, char* p) {
  v128_t old = wasm_v128_load(p);
  wasm_v128_store(p, wasm_v128_bitselect(a, old, wasm_i8x16_shr(mask, 7)));
}

#undef _mm_mullo_epi16
#undef _mm_mulhi_epi16
#undef _mm_mulhi_epu16
#undef _mm_madd_epi16
#undef _mm_sad_epu8
#undef _mm_movemask_epi8
#undef _mm_maskmoveu_si128
#define _mm_mullo_epi16(a, b) scalefront_mm_mullo_epi16(a, b)
#define _mm_mulhi_epi16(a, b) scalefront_mm_mulhi_epi16(a, b)
#define _mm_mulhi_epu16(a, b) scalefront_mm_mulhi_epu16(a, b)
#define _mm_madd_epi16(a, b) scalefront_mm_madd_epi16(a, b)
#define _mm_sad_epu8(a, b) scalefront_mm_sad_epu8(a, b)
#define _mm_movemask_epi8(a) scalefront_mm_movemask_epi8(a)
#define _mm_maskmoveu_si128(a, mask, p) scalefront_mm_maskmoveu_si128(a, mask, (char*)(p))
#endif
