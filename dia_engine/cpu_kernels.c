/* Our CPU kernels for the decode step: linear layers, per-slot attention, RMSNorm, and RoPE with the
 * self-attention cache write. The last three replace many small torch operations with one call each; the
 * linear layers are the bulk of a step:
 *
 * Linear: y[M, N] = x[M, K] @ W^T, W packed in panels of 32 output columns. A decode step multiplies a few
 * rows by every weight, so it is bound by how fast the weights stream from memory. This kernel reads each
 * panel once, front to back, for up to 8 rows at a time; measured on a 2-core AVX-512 CPU it streams at the
 * speed of a plain sum, where oneDNN's few-row kernels reach 70-80% of it.
 *
 * Panel layouts (see cpu_kernels.py, which packs them):
 *   float32: panel[k][32]        (the 32 weights of k for the panel's 32 outputs)
 *   bfloat16: panel[k/2][32][2]  (pairs of k side by side: the operand layout of vdpbf16ps)
 *
 * Every output (m, n) is one fp32 lane accumulated over k in order, whatever M is and wherever the row sits,
 * so a row's bits never depend on its company (the engine checks this before letting slot counts vary).
 * bf16 layers with K a multiple of 32 run on the AMX tile unit instead where the CPU has one (dia_linear_bf16_amx).
 * Built by cpu_kernels.py with -march=native; without AVX-512 the vector kernels are left out (features say
 * which are in) and the engine falls back.
 */
#include <math.h>
#include <stdint.h>

#define PANEL 32 /* output columns per panel: two 16-lane vectors */
#define ROW_BLOCK 8 /* rows sharing one pass over a panel: 16 accumulators in registers */
#define ROW_CHUNK 128 /* rows per parallel sweep over the panels, so a long prompt's rows stay in cache */
#define PREFETCH_K 64 /* k ahead whose weights are asked for early, so memory keeps streaming under the arithmetic */
#define K_CHUNK 128 /* k per pass of the row blocks: 16 KB of a float32 panel, which stays in L1 between passes */

#if defined(__AVX512F__)
#define HAVE_F32 1
#endif
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define HAVE_BF16 1
#endif
#if defined(HAVE_BF16) && defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__linux__)
#define HAVE_AMX 1
#include <sys/syscall.h>
#include <unistd.h>

/* Linux lets a process use the AMX tile registers (8 KB of state per thread) only once it has asked. */
static int amx_ready(void) {
    static int ready = -1;
    if (ready < 0) ready = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
    return ready;
}
#endif

int dia_kernels_abi(void) { return 6; }

int dia_kernels_features(void) {
    int f = 0;
#ifdef HAVE_F32
    f |= 1;
#endif
#ifdef HAVE_BF16
    f |= 2;
#endif
#ifdef HAVE_AMX
    if (amx_ready()) f |= 4;
#endif
    return f;
}

#if defined(HAVE_F32) || defined(HAVE_BF16)
#include <immintrin.h>

/* Lanes of the panel's two vectors that hold real outputs (the last panel may be padded). */
static inline void panel_masks(int64_t n0, int64_t n, __mmask16* lo, __mmask16* hi) {
    int64_t left = n - n0;
    *lo = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
    left -= 16;
    *hi = left >= 16 ? 0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}
#endif

/* Each kernel below runs a block of `rb` rows through k in [i0, i1) of one panel, carrying the fp32 sums in
 * `part` from one k chunk to the next (exactly: they are stored and reloaded as they are). It is always
 * inlined with a constant `rb` (see DISPATCH_ROWS), so the compiler keeps the 2 * rb sums in registers. */
#define DISPATCH_ROWS(block, ...)                                                                            \
    switch (rb) {                                                                                            \
        case 1: block(__VA_ARGS__, 1); break;                                                                \
        case 2: block(__VA_ARGS__, 2); break;                                                                \
        case 3: block(__VA_ARGS__, 3); break;                                                                \
        case 4: block(__VA_ARGS__, 4); break;                                                                \
        case 5: block(__VA_ARGS__, 5); break;                                                                \
        case 6: block(__VA_ARGS__, 6); break;                                                                \
        case 7: block(__VA_ARGS__, 7); break;                                                                \
        default: block(__VA_ARGS__, 8); break;                                                               \
    }

/* For each dtype: a panel runs K_CHUNK k at a time through all its rows, ROW_BLOCK rows per pass, so the
 * chunk of weights is read from memory once and from L1 for the other row blocks, and the memory stream runs
 * evenly under the arithmetic (reading a whole panel per row block left the cores waiting on memory in the
 * first pass and memory idle in the others). The driver takes the rows in chunks of ROW_CHUNK and splits the
 * panels between the threads. */
#define DEFINE_LINEAR(suffix, T)                                                                             \
    static void panel_##suffix(const T* w, const T* x, T* y, int64_t rows, int64_t n, int64_t k, int64_t n0) {  \
        __mmask16 lo, hi;                                                                                    \
        panel_masks(n0, n, &lo, &hi);                                                                        \
        float part[ROW_CHUNK][PANEL];                                                                        \
        for (int64_t i0 = 0; i0 < k; i0 += K_CHUNK) {                                                        \
            int64_t i1 = k - i0 < K_CHUNK ? k : i0 + K_CHUNK;                                                \
            for (int64_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {                                               \
                int64_t rb = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;                                  \
                DISPATCH_ROWS(block_##suffix, w, x + r0 * k, part + r0, k, i0, i1)                           \
            }                                                                                                \
        }                                                                                                    \
        for (int64_t j = 0; j < rows; j++) store_##suffix(y + j * n + n0, part[j], lo, hi);                  \
    }                                                                                                        \
    void dia_linear_##suffix(const T* w, const T* x, T* y, int64_t m, int64_t n, int64_t k, int threads) {   \
        int64_t panels = (n + PANEL - 1) / PANEL;                                                            \
        for (int64_t r0 = 0; r0 < m; r0 += ROW_CHUNK) {                                                      \
            int64_t rows = m - r0 < ROW_CHUNK ? m - r0 : ROW_CHUNK;                                          \
            _Pragma("omp parallel for schedule(static) num_threads(threads)")                                \
            for (int64_t p = 0; p < panels; p++)                                                             \
                panel_##suffix(w + p * PANEL * k, x + r0 * k, y + r0 * n, rows, n, k, p * PANEL);            \
        }                                                                                                    \
    }

/* The sums of a block's rows: zero at the first chunk, else as the last chunk left them. */
#define LOAD_SUMS(acc, part, i0, rb)                                                                         \
    for (int j = 0; j < rb; j++) {                                                                           \
        acc[j][0] = i0 ? _mm512_loadu_ps(part[j]) : _mm512_setzero_ps();                                     \
        acc[j][1] = i0 ? _mm512_loadu_ps(part[j] + 16) : _mm512_setzero_ps();                                \
    }
#define STORE_SUMS(acc, part, rb)                                                                            \
    for (int j = 0; j < rb; j++) {                                                                           \
        _mm512_storeu_ps(part[j], acc[j][0]);                                                                \
        _mm512_storeu_ps(part[j] + 16, acc[j][1]);                                                           \
    }

#ifdef HAVE_F32
static inline __attribute__((always_inline)) void block_f32(const float* w, const float* xr, float (*part)[PANEL],
                                                            int64_t k, int64_t i0, int64_t i1, const int rb) {
    __m512 acc[ROW_BLOCK][2];
    LOAD_SUMS(acc, part, i0, rb)
    for (int64_t i = i0; i < i1; i++) {
        _mm_prefetch((const char*)(w + (i + PREFETCH_K) * PANEL), _MM_HINT_T0);
        _mm_prefetch((const char*)(w + (i + PREFETCH_K) * PANEL + 16), _MM_HINT_T0);
        __m512 w0 = _mm512_loadu_ps(w + i * PANEL), w1 = _mm512_loadu_ps(w + i * PANEL + 16);
        for (int j = 0; j < rb; j++) {
            __m512 a = _mm512_set1_ps(xr[j * k + i]);
            acc[j][0] = _mm512_fmadd_ps(w0, a, acc[j][0]);
            acc[j][1] = _mm512_fmadd_ps(w1, a, acc[j][1]);
        }
    }
    STORE_SUMS(acc, part, rb)
}

static inline void store_f32(float* yr, const float* sums, __mmask16 lo, __mmask16 hi) {
    _mm512_mask_storeu_ps(yr, lo, _mm512_loadu_ps(sums));
    _mm512_mask_storeu_ps(yr + 16, hi, _mm512_loadu_ps(sums + 16));
}

DEFINE_LINEAR(f32, float)
#endif

#ifdef HAVE_BF16
static inline __attribute__((always_inline)) void block_bf16(const uint16_t* w, const uint16_t* xr,
                                                             float (*part)[PANEL], int64_t k, int64_t i0, int64_t i1,
                                                             const int rb) {
    __m512 acc[ROW_BLOCK][2];
    LOAD_SUMS(acc, part, i0, rb)
    for (int64_t i = i0; i < i1; i += 2) { /* pair row i / 2 of the panel: i * PANEL elements in */
        _mm_prefetch((const char*)(w + (i + PREFETCH_K) * PANEL), _MM_HINT_T0);
        _mm_prefetch((const char*)(w + (i + PREFETCH_K) * PANEL + 32), _MM_HINT_T0);
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(w + i * PANEL), w1 = (__m512bh)_mm512_loadu_si512(w + i * PANEL + 32);
        for (int j = 0; j < rb; j++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32(*(const int32_t*)(xr + j * k + i));
            acc[j][0] = _mm512_dpbf16_ps(acc[j][0], w0, a);
            acc[j][1] = _mm512_dpbf16_ps(acc[j][1], w1, a);
        }
    }
    STORE_SUMS(acc, part, rb)
}

static inline void store_bf16(uint16_t* yr, const float* sums, __mmask16 lo, __mmask16 hi) {
    /* round to nearest even, as every bf16 matmul does */
    _mm256_mask_storeu_epi16(yr, lo, (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(sums)));
    _mm256_mask_storeu_epi16(yr + 16, hi, (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(sums + 16)));
}

DEFINE_LINEAR(bf16, uint16_t)
#endif

#ifdef HAVE_AMX
/* The same bf16 linear layer on the AMX tile unit (K a multiple of 32): one instruction multiplies up to 16 rows
 * by 32 k of 16 outputs, so 16 rows (8 lines with their guidance rows) cost the decode step hardly more than
 * 2, where the vector kernel above spends twice as long on 16 rows as on 2.
 *
 * The bf16 panel layout [k/2][32][2] is already the tile unit's operand layout: the 16 pair-rows of a 32-k
 * block, first or second 16 outputs, are a tile with a 128-byte stride. Tiles: 0, 1 hold the sums of a full
 * 16-row block for the panel's two halves and 2 its rows of x; 3, 4, 5 the same for the last, shorter block
 * (configured with fewer rows); 6, 7 the weights. Each output (m, n) is its own fp32 sum over k in order, so a
 * row's bits never depend on the other rows (they differ from the vector kernel's: one path per process). */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static void amx_configure(int tail_rows) {
    tile_config c = {0};
    c.palette = 1;
    for (int t = 0; t < 8; t++) {
        c.colsb[t] = 64;
        c.rows[t] = t >= 3 && t <= 5 && tail_rows ? tail_rows : 16;
    }
    _tile_loadconfig(&c);
}

/* Rows of x through one panel on tiles (c0, c1, a), their fp32 sums stored into `sums`. */
#define AMX_BLOCK(c0, c1, a)                                                                                 \
    do {                                                                                                     \
        _tile_zero(c0);                                                                                      \
        _tile_zero(c1);                                                                                      \
        for (int64_t i = 0; i < k; i += 32) {                                                                \
            for (int l = 0; l < 32; l++) /* the 32 lines of this block's weights, PREFETCH_K k on */         \
                _mm_prefetch((const char*)(w + (i + PREFETCH_K) * PANEL + 32 * l), _MM_HINT_T0);             \
            _tile_loadd(a, xr + i, 2 * k);                                                                   \
            _tile_loadd(6, w + i * PANEL, 4 * PANEL);                                                        \
            _tile_loadd(7, w + i * PANEL + 32, 4 * PANEL);                                                   \
            _tile_dpbf16ps(c0, a, 6);                                                                        \
            _tile_dpbf16ps(c1, a, 7);                                                                        \
        }                                                                                                    \
        _tile_stored(c0, sums[0], 4 * PANEL);                                                                \
        _tile_stored(c1, sums[0] + 16, 4 * PANEL);                                                           \
    } while (0)

static void panel_amx(const uint16_t* w, const uint16_t* x, uint16_t* y, int64_t rows, int64_t n, int64_t k,
                      int64_t n0) {
    __mmask16 lo, hi;
    panel_masks(n0, n, &lo, &hi);
    float sums[16][PANEL];
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const uint16_t* xr = x + r0 * k;
        int64_t rb = rows - r0 < 16 ? rows - r0 : 16;
        if (rb == 16)
            AMX_BLOCK(0, 1, 2);
        else
            AMX_BLOCK(3, 4, 5);
        for (int64_t j = 0; j < rb; j++) store_bf16(y + (r0 + j) * n + n0, sums[j], lo, hi);
    }
}

/* Returns 0, or -1 where the tile unit cannot be used (the caller then uses dia_linear_bf16). */
int dia_linear_bf16_amx(const uint16_t* w, const uint16_t* x, uint16_t* y, int64_t m, int64_t n, int64_t k,
                        int threads) {
    if (k % 32 || !amx_ready()) return -1;
    int64_t panels = (n + PANEL - 1) / PANEL;
#pragma omp parallel num_threads(threads)
    {
        amx_configure((int)(m % 16)); /* tile registers are per thread */
        for (int64_t r0 = 0; r0 < m; r0 += ROW_CHUNK) {
            int64_t rows = m - r0 < ROW_CHUNK ? m - r0 : ROW_CHUNK;
#pragma omp for schedule(static)
            for (int64_t p = 0; p < panels; p++)
                panel_amx(w + p * PANEL * k, x + r0 * k, y + r0 * n, rows, n, k, p * PANEL);
        }
        _tile_release();
    }
    return 0;
}
#endif

#ifdef HAVE_F32
/* e^x for x <= 0 (softmax after subtracting the max), within about 1 ulp like torch.exp: e^x = 2^n e^r with
 * n = round(x / ln 2) and r = x - n ln 2 (ln 2 in two parts, so r is exact enough), e^r from its Taylor series
 * to r^7 (|r| <= 0.35).
 * Exactly 0 below -87, where e^x underflows (and for the -inf of padding lanes). */
static inline __m512 exp_nonpositive(__m512 x) {
    __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_mov_ps(live, _mm512_scalef_ps(p, n));
}

/* One decode step's attention for every slot at once: one query per row over that slot's own keys.
 *
 * q, out: [2 * slots, heads, dim] float32. slot s owns rows 2s and 2s+1 and is described by 5 int64s in
 * `slot_desc`: keys pointer, values pointer, key count n (0: the slot is empty and its output is zero), the
 * stride between its two rows and between kv heads (in elements; keys are `dim` elements apart). Keys and
 * values are float32, or bfloat16 with kv_bf16 (a bf16 model's cache: half the bytes to read). Query head h
 * reads kv head h / (heads / kv_heads). Scale 1.0, as Dia's attention. Scores, softmax and the weighted sum
 * are all float32, and each (row, head) depends on nothing but its own slot.
 */
/* Lanes of a key or value row from the cache, as float32 (bf16 widens exactly by a shift). */
static inline __m512 load_kv(const void* base, int64_t offset, __mmask16 m, int kv_bf16) {
#ifdef HAVE_BF16
    if (kv_bf16) {
        __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t*)base + offset);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
#endif
    (void)kv_bf16;
    return _mm512_maskz_loadu_ps(m, (const float*)base + offset);
}

void dia_attend(int64_t slots, const float* q, float* out, int64_t heads, int64_t kv_heads, int64_t dim,
                const int64_t* slot_desc, int kv_bf16, int threads) {
    int64_t group = heads / kv_heads, chunks = (dim + 15) / 16, items = 2 * slots * kv_heads;
    __mmask16 tail = dim % 16 ? (__mmask16)((1u << (dim % 16)) - 1) : 0xFFFF; /* lanes of the last chunk */
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int64_t item = 0; item < items; item++) {
        int64_t s = item / (2 * kv_heads), r = (item / kv_heads) % 2, g = item % kv_heads;
        const int64_t* d = slot_desc + 5 * s;
        int64_t kv_at = r * d[3] + g * d[4]; /* in elements of the cache's dtype */
        const void* k = (const void*)d[0];
        const void* v = (const void*)d[1];
        int64_t n = d[2];
        const float* qg = q + ((2 * s + r) * heads + g * group) * dim;
        float* og = out + ((2 * s + r) * heads + g * group) * dim;
        if (n == 0) {
            for (int64_t i = 0; i < group * dim; i++) og[i] = 0.0f;
            continue;
        }
        int64_t padded = (n + 15) & ~(int64_t)15;
        float scores[group][padded];
        for (int64_t j = 0; j < n; j++) {
            __m512 kj[8]; /* dim <= 128, checked by the caller */
            for (int64_t c = 0; c < chunks; c++)
                kj[c] = load_kv(k, kv_at + j * dim + 16 * c, c == chunks - 1 ? tail : 0xFFFF, kv_bf16);
            for (int64_t h = 0; h < group; h++) {
                __m512 acc = _mm512_setzero_ps();
                for (int64_t c = 0; c < chunks; c++)
                    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(c == chunks - 1 ? tail : 0xFFFF, qg + h * dim + 16 * c),
                                          kj[c], acc);
                scores[h][j] = _mm512_reduce_add_ps(acc);
            }
        }
        for (int64_t h = 0; h < group; h++) {
            float* sc = scores[h];
            for (int64_t j = n; j < padded; j++) sc[j] = -INFINITY;
            __m512 mx = _mm512_set1_ps(-INFINITY);
            for (int64_t j = 0; j < padded; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(sc + j));
            __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
            for (int64_t j = 0; j < padded; j += 16) {
                __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(sc + j), top));
                _mm512_storeu_ps(sc + j, e);
                sum = _mm512_add_ps(sum, e);
            }
            float inv = 1.0f / _mm512_reduce_add_ps(sum);
            __m512 acc[8];
            for (int64_t c = 0; c < chunks; c++) acc[c] = _mm512_setzero_ps();
            for (int64_t j = 0; j < n; j++) {
                __m512 p = _mm512_set1_ps(sc[j] * inv);
                for (int64_t c = 0; c < chunks; c++) {
                    __m512 vc = load_kv(v, kv_at + j * dim + 16 * c, c == chunks - 1 ? tail : 0xFFFF, kv_bf16);
                    acc[c] = _mm512_fmadd_ps(p, vc, acc[c]);
                }
            }
            for (int64_t c = 0; c < chunks; c++)
                _mm512_mask_storeu_ps(og + h * dim + 16 * c, c == chunks - 1 ? tail : 0xFFFF, acc[c]);
        }
    }
}
#endif

/* Scalar helpers for the kernels below, which take float32 or bfloat16 tensors (a flag per tensor). bf16
 * widens to fp32 exactly; fp32 narrows to bf16 rounding to nearest even, as torch does (inputs are finite). */
static inline float bf16_to_f32(uint16_t b) {
    union { uint32_t u; float f; } v = {(uint32_t)b << 16};
    return v.f;
}

static inline uint16_t f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {f};
    return (uint16_t)((v.u + 0x7FFF + ((v.u >> 16) & 1)) >> 16);
}

static inline float round_to(float v, int bf16) { return bf16 ? bf16_to_f32(f32_to_bf16(v)) : v; }

static inline float load_any(const void* p, int64_t i, int bf16) {
    return bf16 ? bf16_to_f32(((const uint16_t*)p)[i]) : ((const float*)p)[i];
}

static inline void store_any(void* p, int64_t i, float v, int bf16) {
    if (bf16)
        ((uint16_t*)p)[i] = f32_to_bf16(v);
    else
        ((float*)p)[i] = v;
}

/* Dia's RMSNorm, row by row: normalise in fp32, round to the input's dtype, multiply by the fp32 weight, and
 * store in the output's dtype (the reference's `(x * rsqrt(mean(x^2) + eps)).to(x.dtype) * w`, then the
 * caller's cast). x, out: [rows, dim], float32 or bfloat16 (x_bf16, out_bf16). */
void dia_rms_norm(const void* x, const float* w, void* out, int64_t rows, int64_t dim, float eps, int x_bf16,
                  int out_bf16) {
    for (int64_t r = 0; r < rows; r++) {
        float lanes[16] = {0};
        for (int64_t i = 0; i < dim; i++) {
            float v = load_any(x, r * dim + i, x_bf16);
            lanes[i % 16] += v * v;
        }
        float sum = 0;
        for (int i = 0; i < 16; i++) sum += lanes[i];
        float scale = 1.0f / sqrtf(sum / (float)dim + eps);
        for (int64_t i = 0; i < dim; i++)
            store_any(out, r * dim + i, round_to(load_any(x, r * dim + i, x_bf16) * scale, x_bf16) * w[i], out_bf16);
    }
}

/* Half-split RoPE of one element pair in fp32, rounded to the model's dtype (as RotaryEmbedding.rotate). */
static inline void rotate_pair(float a, float b, float c, float s, int bf16, float* lo, float* hi) {
    *lo = round_to(a * c - b * s, bf16);
    *hi = round_to(b * c + a * s, bf16);
}

/* Rotate `count` heads of `dim` values from src (model dtype) into dst (dst_bf16), head h at src_at + h * dim
 * and dst_at + h * dst_step. src and dst may be the same buffer (q is rotated in place). */
static void rotate_heads(const void* src, int64_t src_at, void* dst, int64_t dst_at, int64_t dst_step, int64_t count,
                         int64_t dim, const float* c, const float* s, int x_bf16, int dst_bf16) {
    int64_t half = dim / 2;
    for (int64_t h = 0; h < count; h++) {
        int64_t from = src_at + h * dim, to = dst_at + h * dst_step;
        for (int64_t i = 0; i < half; i++) {
            float lo, hi;
            rotate_pair(load_any(src, from + i, x_bf16), load_any(src, from + i + half, x_bf16), c[i], s[i], x_bf16,
                        &lo, &hi);
            store_any(dst, to + i, lo, dst_bf16);
            store_any(dst, to + i + half, hi, dst_bf16);
        }
    }
}

/* One decode step's self-attention inputs: rotate q in place, rotate k, and store k and v in the cache.
 *
 * q [rows, heads, dim], k and v [rows, kv_heads, dim], in the model's dtype (x_bf16); cos and sin
 * [rows, dim / 2] float32 (RotaryEmbedding.tables). Row r's key and value go to
 * cache[r * row_stride + head * head_stride + pos[r] * dim], in the cache's dtype (cache_bf16). */
void dia_rope_store(void* q, const void* k, const void* v, const float* cos, const float* sin, void* cache_k,
                    void* cache_v, const int64_t* pos, int64_t rows, int64_t heads, int64_t kv_heads, int64_t dim,
                    int64_t row_stride, int64_t head_stride, int x_bf16, int cache_bf16) {
    for (int64_t r = 0; r < rows; r++) {
        const float* c = cos + r * (dim / 2);
        const float* s = sin + r * (dim / 2);
        int64_t to = r * row_stride + pos[r] * dim;
        rotate_heads(q, r * heads * dim, q, r * heads * dim, dim, heads, dim, c, s, x_bf16, x_bf16);
        rotate_heads(k, r * kv_heads * dim, cache_k, to, head_stride, kv_heads, dim, c, s, x_bf16, cache_bf16);
        for (int64_t h = 0; h < kv_heads; h++)
            for (int64_t i = 0; i < dim; i++)
                store_any(cache_v, to + h * head_stride + i, load_any(v, (r * kv_heads + h) * dim + i, x_bf16),
                          cache_bf16);
    }
}
