#include "report/web_assets.hpp"

#include <cstdint>

// .incbin copies each file into .rodata at assembly time: no generated source,
// no size limit on string literals, and the bytes are exactly the file's.
// Paths come from CMake (COMPEVAL_ASSET_*), which also makes this object
// depend on the files.
// NOLINTNEXTLINE(cppcoreguidelines-macro-usage): symbol names need token pasting.
#define COMPEVAL_INCBIN(name, path)                                                                \
    asm(".section .rodata\n"                                                                       \
        ".global compeval_asset_" #name                                                            \
        "_begin\n"                                                                                 \
        ".global compeval_asset_" #name                                                            \
        "_size\n"                                                                                  \
        "compeval_asset_" #name                                                                    \
        "_begin:\n"                                                                                \
        ".incbin \"" path                                                                          \
        "\"\n"                                                                                     \
        "compeval_asset_" #name                                                                    \
        "_end:\n"                                                                                  \
        ".balign 8\n"                                                                              \
        "compeval_asset_" #name                                                                    \
        "_size:\n"                                                                                 \
        ".quad compeval_asset_" #name "_end - compeval_asset_" #name                               \
        "_begin\n"                                                                                 \
        ".previous\n");                                                                            \
    extern "C" const char compeval_asset_##name##_begin[];                                         \
    extern "C" const uint64_t compeval_asset_##name##_size;                                        \
    std::string_view compeval::web_assets::name() {                                                \
        return {compeval_asset_##name##_begin, static_cast<size_t>(compeval_asset_##name##_size)}; \
    }

COMPEVAL_INCBIN(vega_js, COMPEVAL_ASSET_VEGA_JS)
COMPEVAL_INCBIN(vega_lite_js, COMPEVAL_ASSET_VEGA_LITE_JS)
COMPEVAL_INCBIN(vega_embed_js, COMPEVAL_ASSET_VEGA_EMBED_JS)
COMPEVAL_INCBIN(report_page_js, COMPEVAL_ASSET_REPORT_PAGE_JS)
COMPEVAL_INCBIN(report_page_css, COMPEVAL_ASSET_REPORT_PAGE_CSS)
