# Writes OUT, a C file defining civic_descriptor_set[] and its length, from IN.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from the build's descriptor set; do not edit. */\n#include <stddef.h>\nconst unsigned char civic_descriptor_set[] = {\n${bytes}\n};\nconst size_t civic_descriptor_set_len = ${len};\n")
