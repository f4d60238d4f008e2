/* Activation kernels, int16; see activations.h. */
#include "activations.h"

#include "hil_fixedpoint.h"

void hil_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int16_t)hil_clamp_i32(in[i], lo, hi);
    }
}

void hil_requant_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift,
                           int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int16_t)hil_clamp_i32(hil_mbqm(in[i], mult, shift), lo, hi);
    }
}

void hil_leaky_relu_s16(const hil_leaky_relu_params_t *p, const int16_t *in, int16_t *out, int32_t n)
{
    const int negative_alpha = p->mult_alpha < 0;
    const int32_t alpha = negative_alpha ? -p->mult_alpha : p->mult_alpha;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x = (int32_t)in[i] - p->in_zp;
        int32_t v = p->out_zp;
        if (x >= 0) {
            v += hil_mbqm(x, p->mult_identity, p->shift_identity);
        } else {
            const int32_t s = hil_mbqm(x, alpha, p->shift_alpha);
            v += negative_alpha ? -s : s;
        }
        out[i] = (int16_t)hil_clamp_i32(v, -32768, 32767);
    }
}

/* sigmoid(i / 24) in unsigned Q0.16 for i = 0..255 (tanh(x) = 2 sigmoid(2x) - 1 reuses it).
 * The values were measured from the pinned TFLM runtime's int16 TANH (inputs placed exactly on
 * the grid points); tests/codegen/test_ops_elementwise.py (test_int16_sigmoid_table_matches_tflm)
 * re-measures and compares. */
static const uint16_t hil_sigmoid_q16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535
};

void hil_logistic_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift)
{
    const int32_t round = shift > 0 ? ((int32_t)1 << (shift - 1)) : 0;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t v = ((int32_t)in[i] * mult + round) >> shift;
        const uint32_t a = (uint32_t)(v < 0 ? -v : v);
        const uint32_t idx = a >> 9; /* grid step: 2^7 per table entry, times the 3/4 range factor */
        uint32_t r;
        if (idx >= 255u) {
            r = 0x7FFFu << 10;
        } else {
            const uint32_t lo = hil_sigmoid_q16[idx];
            const uint32_t hi = hil_sigmoid_q16[idx + 1u];
            r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
        }
        r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
        out[i] = (int16_t)(r >> 10);
    }
}

void hil_tanh_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift)
{
    const int32_t round = shift > 0 ? ((int32_t)1 << (shift - 1)) : 0;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t v = ((int32_t)in[i] * mult + round) >> shift;
        const uint32_t a = (uint32_t)(v < 0 ? -v : v);
        const uint32_t idx = a >> 8;
        int32_t r;
        if (idx >= 255u) {
            r = (int32_t)(0xFFFFu << 8);
        } else {
            const uint32_t lo = hil_sigmoid_q16[idx];
            const uint32_t hi = hil_sigmoid_q16[idx + 1u];
            r = (int32_t)((lo << 8) + (a & 0xFFu) * (hi - lo));
        }
        r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        out[i] = (int16_t)(r >> 8);
    }
}
