/* The intrinsics include/ replaces, against SIMDe's own (portable, slow) versions of the same
 * instruction, on random and edge-value inputs: any difference would change the wasm build's
 * bytes. Built and run by tests/image/simd.test.mjs (clang through ./clang, linked with rust-lld,
 * no libc); `check(n)` returns the number of mismatching results over n rounds. */
#include <emmintrin.h>
#include <smmintrin.h>

static unsigned long long state = 88172645463325252ull;

static unsigned long long next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

/* A quarter of the bytes are edge values (0, 0x80, 0x7f, 0xff, 1): the signed and unsigned limits. */
static __m128i random_vector(void) {
  static const unsigned char edge[] = {0, 0x80, 0x7f, 0xff, 1};
  union { __m128i v; unsigned char b[16]; } u;
  for (int i = 0; i < 16; i++) {
    unsigned r = (unsigned)next();
    u.b[i] = (r & 3) == 0 ? edge[(r >> 8) % 5] : (unsigned char)(r >> 16);
  }
  return u.v;
}

static int differ(__m128i x, __m128i y) {
  union { __m128i v; unsigned char b[16]; } a = {x}, b = {y};
  for (int i = 0; i < 16; i++)
    if (a.b[i] != b.b[i]) return 1;
  return 0;
}

__attribute__((export_name("check"))) int check(int n) {
  int bad = 0;
  for (int i = 0; i < n; i++) {
    __m128i a = random_vector(), b = random_vector(), c = random_vector();
    bad += differ(_mm_mullo_epi16(a, b), simde_mm_mullo_epi16(a, b));
    bad += differ(_mm_mulhi_epi16(a, b), simde_mm_mulhi_epi16(a, b));
    bad += differ(_mm_mulhi_epu16(a, b), simde_mm_mulhi_epu16(a, b));
    bad += differ(_mm_madd_epi16(a, b), simde_mm_madd_epi16(a, b));
    bad += differ(_mm_sad_epu8(a, b), simde_mm_sad_epu8(a, b));
    bad += _mm_movemask_epi8(a) != simde_mm_movemask_epi8(a);
    bad += differ(_mm_shuffle_epi8(a, b), simde_mm_shuffle_epi8(a, b));
    union { __m128i v; char b[16]; } ours = {c}, theirs = {c};
    _mm_maskmoveu_si128(a, b, ours.b);
    simde_mm_maskmoveu_si128(a, b, (int8_t*)theirs.b);
    bad += differ(ours.v, theirs.v);
  }
  return bad;
}
