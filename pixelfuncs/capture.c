/* capture.c: pvrt__capture, an internal identity function for the gathered
 * read (driver/gather.c).
 *
 * It copies source 0 to the output, converted the way GDALCopyWords
 * converts. gather.c reads one source of a derived band through a VRT whose
 * band has that source alone and this function, with the transfer type as
 * both the source and the buffer type: the copy is then byte for byte the
 * buffer GDAL's VRTDerivedRasterBand would have handed to the band's own
 * pixel function. Not meant for users (hence the double underscore). */
#include "pf_private.h"

const char pvrt__capture_meta[] = "";

CPLErr pvrt__capture(void **sources, int nsources, void *out, int width,
                     int height, GDALDataType src_type, GDALDataType out_type,
                     int pixel_space, int line_space, CSLConstList args)
{
    (void)args;
    if (nsources < 1) {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "pvrt__capture: needs one source, the band has none");
        return CE_Failure;
    }
    const int size = GDALGetDataTypeSizeBytes(src_type);
    for (int y = 0; y < height; y++)
        GDALCopyWords((const GByte *)sources[0] + (size_t)y * width * size,
                      src_type, size, (GByte *)out + (size_t)y * line_space,
                      out_type, pixel_space, width);
    return CE_None;
}
