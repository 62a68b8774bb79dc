/* plugins/s3/xml.c — expat into the bounded tree of xml.h. Any DOCTYPE or entity declaration
 * stops the parse: S3 never sends one, so a document with one is hostile. The bottom. */
#include "xml.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
    XML_Parser parser;
    struct s3_xml_node *root;
    struct s3_xml_node *stack[S3_XML_MAX_DEPTH];
    struct s3_xml_node *last_child[S3_XML_MAX_DEPTH];
    int depth;
    size_t elements;
    char why[160];
};

static void stop(struct parse *parse, const char *why)
{
    if (!parse->why[0])
        snprintf(parse->why, sizeof parse->why, "%s", why);
    XML_StopParser(parse->parser, XML_FALSE);
}

static void on_start(void *context, const XML_Char *name, const XML_Char **attributes)
{
    (void)attributes;
    struct parse *parse = context;
    if (parse->depth >= S3_XML_MAX_DEPTH)
        return stop(parse, "elements nested too deep");
    if (++parse->elements > S3_XML_MAX_ELEMENTS)
        return stop(parse, "too many elements");
    if (parse->depth == 0 && parse->root)
        return stop(parse, "two root elements");
    struct s3_xml_node *node = calloc(1, sizeof *node);
    if (!node || !(node->name = strdup(name)) || !(node->text = strdup(""))) {
        if (node)
            free(node->name);
        free(node);
        return stop(parse, "out of memory");
    }
    if (parse->depth == 0) {
        parse->root = node;
    } else {
        struct s3_xml_node *parent = parse->stack[parse->depth - 1];
        if (parse->last_child[parse->depth - 1])
            parse->last_child[parse->depth - 1]->next = node;
        else
            parent->children = node;
        parse->last_child[parse->depth - 1] = node;
    }
    parse->stack[parse->depth] = node;
    parse->last_child[parse->depth] = NULL;
    parse->depth++;
}

static void on_end(void *context, const XML_Char *name)
{
    (void)name;
    struct parse *parse = context;
    if (parse->depth > 0)
        parse->depth--;
}

static void on_text(void *context, const XML_Char *text, int length)
{
    struct parse *parse = context;
    if (parse->depth == 0 || length <= 0)
        return;
    struct s3_xml_node *node = parse->stack[parse->depth - 1];
    if (node->text_length + (size_t)length > S3_XML_MAX_TEXT)
        return stop(parse, "an element's text is too long");
    char *grown = realloc(node->text, node->text_length + (size_t)length + 1);
    if (!grown)
        return stop(parse, "out of memory");
    memcpy(grown + node->text_length, text, (size_t)length);
    node->text_length += (size_t)length;
    grown[node->text_length] = '\0';
    node->text = grown;
}

static void on_doctype(void *context, const XML_Char *name, const XML_Char *system_id,
                       const XML_Char *public_id, int has_internal_subset)
{
    (void)name, (void)system_id, (void)public_id, (void)has_internal_subset;
    stop(context, "a DOCTYPE (S3 sends none)");
}

static void on_entity(void *context, const XML_Char *name, int is_parameter, const XML_Char *value,
                      int value_length, const XML_Char *base, const XML_Char *system_id,
                      const XML_Char *public_id, const XML_Char *notation)
{
    (void)name, (void)is_parameter, (void)value, (void)value_length, (void)base;
    (void)system_id, (void)public_id, (void)notation;
    stop(context, "an entity declaration (S3 sends none)");
}

struct s3_xml_node *s3_xml_parse(const char *text, size_t length, char *why, size_t why_size)
{
    struct parse parse = {0};
    parse.parser = XML_ParserCreate("UTF-8");
    if (!parse.parser) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    XML_SetUserData(parse.parser, &parse);
    XML_SetElementHandler(parse.parser, on_start, on_end);
    XML_SetCharacterDataHandler(parse.parser, on_text);
    XML_SetStartDoctypeDeclHandler(parse.parser, on_doctype);
    XML_SetEntityDeclHandler(parse.parser, on_entity);
    XML_SetParamEntityParsing(parse.parser, XML_PARAM_ENTITY_PARSING_NEVER);
    int ok = length <= 0x7fffffff &&
             XML_Parse(parse.parser, text ? text : "", (int)length, XML_TRUE) == XML_STATUS_OK;
    if (!ok || !parse.root) {
        snprintf(why, why_size, "not S3's XML: %s",
                 parse.why[0] ? parse.why
                 : !ok        ? XML_ErrorString(XML_GetErrorCode(parse.parser))
                              : "no root element");
        XML_ParserFree(parse.parser);
        s3_xml_free(parse.root);
        return NULL;
    }
    XML_ParserFree(parse.parser);
    return parse.root;
}

void s3_xml_free(struct s3_xml_node *node)
{
    while (node) {
        struct s3_xml_node *next = node->next;
        s3_xml_free(node->children);
        free(node->name);
        free(node->text);
        free(node);
        node = next;
    }
}

const struct s3_xml_node *s3_xml_child(const struct s3_xml_node *node, const char *name)
{
    for (const struct s3_xml_node *child = node ? node->children : NULL; child; child = child->next)
        if (strcmp(child->name, name) == 0)
            return child;
    return NULL;
}

const char *s3_xml_child_text(const struct s3_xml_node *node, const char *name)
{
    const struct s3_xml_node *child = s3_xml_child(node, name);
    return child ? child->text : NULL;
}
