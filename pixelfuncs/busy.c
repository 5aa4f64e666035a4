/* busy.c: pvrt_busy, a CPU-bound calibration kernel.
 *
 * Per pixel it runs `iterations` dependent floating-point operations on a
 * chain seeded from the pixel, whose result can never change the output:
 * the output is the first source converted to the band type. Benchmarks and
 * tests use it to show scaling apart from I/O. */
#include "pf_private.h"

#include <stdlib.h>

const char pvrt__busy_meta[] =
    "<PixelFunctionArgumentsList>"
    "<Argument name='iterations' type='integer' default='100' "
    "description='dependent floating-point operations per pixel'/>"
    "</PixelFunctionArgumentsList>";

CPLErr pvrt__busy(void **sources, int nsources, void *out, int width,
                  int height, GDALDataType src_type, GDALDataType out_type,
                  int pixel_space, int line_space, CSLConstList args)
{
    static const char fn[] = "pvrt_busy";
    if (nsources < 1) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "%s: needs at least one source, the band has none", fn);
        return CE_Failure;
    }
    int iterations;
    if (pvrt__arg_int(args, fn, "iterations", 100, 0, 1000000000, &iterations) <
        0)
        return CE_Failure;

    double *row = (double *)VSI_MALLOC2_VERBOSE(sizeof(double), width);
    if (row == NULL)
        return CE_Failure;
    for (int y = 0; y < height; y++) {
        pvrt__row_read(sources[0], src_type, width, y, row);
        for (int x = 0; x < width; x++) {
            /* The chain t -> t/2 + 1/2 stays in [1, 2] for either seed, so
             * the branch below is never taken; the compiler cannot know. */
            double t = row[x] == row[x] ? 1.5 : 2.0;
            for (int i = 0; i < iterations; i++)
                t = t * 0.5 + 0.5;
            if (t > 3.0)
                row[x] = t;
        }
        pvrt__row_write(row, out, out_type, pixel_space, line_space, width, y);
    }
    VSIFree(row);
    return CE_None;
}
