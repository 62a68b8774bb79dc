/* plugins/s3/xml.h — S3's answers as a small bounded tree, parsed by expat: no DTD, no entity
 * declarations (no expansion bombs, no external entities), limited depth, elements and text. */
#ifndef S3_XML_H
#define S3_XML_H

#include <stddef.h>

#define S3_XML_MAX_DEPTH 16
#define S3_XML_MAX_ELEMENTS 100000 /* a page of 1,000 keys takes about 10,000 */
#define S3_XML_MAX_TEXT 16384      /* bytes of one element's text (a key, a token) */

struct s3_xml_node {
    char *name;                   /* the element's name, a namespace prefix kept as it came */
    char *text;                   /* its own character data ("" when none) */
    size_t text_length;
    struct s3_xml_node *children; /* first child */
    struct s3_xml_node *next;     /* next sibling */
};

/* The document's root, or NULL with why (one line) on malformed or over-limit input. */
struct s3_xml_node *s3_xml_parse(const char *text, size_t length, char *why, size_t why_size);
void s3_xml_free(struct s3_xml_node *root);

/* The first child element of that name, or NULL. */
const struct s3_xml_node *s3_xml_child(const struct s3_xml_node *node, const char *name);
/* The text of the first child of that name, or NULL. */
const char *s3_xml_child_text(const struct s3_xml_node *node, const char *name);

#endif
