/* SSE4.1 (and the SSSE3 it includes) for the wasm32 C build (libwebp's *_sse41.c, when
 * wasm/simd/clang defines __SSE4_1__, which it does not now: see there), as
 * emmintrin.h here, which comes first so its replacements apply in these files too. */
#ifndef SCALEFRONT_WASM_SMMINTRIN_H
#define SCALEFRONT_WASM_SMMINTRIN_H
#include <emmintrin.h>
#include <simde/x86/sse4.1.h>

/* pshufb: a zero where the index byte has its top bit set, else a[index & 15]. simd128's
 * swizzle gives a zero for any index >= 16, so keeping bit 7 and the low four bits is exact. */
static inline __m128i scalefront_mm_shuffle_epi8(__m128i a, __m128i b) {
  return wasm_i8x16_swizzle(a, wasm_v128_and(b, wasm_i8x16_splat((int8_t)0x8f)));
}
#undef _mm_shuffle_epi8
#define _mm_shuffle_epi8(a, b) scalefront_mm_shuffle_epi8(a, b)
#endif
