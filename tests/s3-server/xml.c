/* xml.c — S3's XML both ways: answers written with escaping into a growing buffer, request
 * bodies (CompleteMultipartUpload, DeleteObjects, CreateBucketConfiguration) read with expat into
 * a flat list of (path, text), bounded in depth, size and count. */
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define S3_NAMESPACE "http://s3.amazonaws.com/doc/2006-03-01/"

enum { MAX_DEPTH = 8, MAX_NODES = 20000, MAX_TEXT = 4096 };

static void append(struct xml *x, const char *text, size_t length)
{
	if (x->failed)
		return;
	if (x->length + length + 1 > x->capacity) {
		size_t capacity = x->capacity ? x->capacity : 1024;
		while (capacity < x->length + length + 1)
			capacity *= 2;
		char *grown = realloc(x->data, capacity);
		if (!grown) {
			x->failed = true;
			return;
		}
		x->data = grown;
		x->capacity = capacity;
	}
	memcpy(x->data + x->length, text, length);
	x->length += length;
	x->data[x->length] = '\0';
}

void xml_raw(struct xml *x, const char *text)
{
	append(x, text, strlen(text));
}

static void escaped(struct xml *x, const char *text)
{
	for (const char *c = text; *c; c++) {
		switch (*c) {
		case '<': xml_raw(x, "&lt;"); break;
		case '>': xml_raw(x, "&gt;"); break;
		case '&': xml_raw(x, "&amp;"); break;
		case '"': xml_raw(x, "&quot;"); break;
		case '\'': xml_raw(x, "&apos;"); break;
		default:
			if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') {
				char reference[8];
				snprintf(reference, sizeof reference, "&#x%X;", (unsigned char)*c);
				xml_raw(x, reference);
			} else {
				append(x, c, 1);
			}
		}
	}
}

void xml_begin(struct xml *x, const char *root)
{
	memset(x, 0, sizeof *x);
	xml_raw(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
	xml_raw(x, root);
	xml_raw(x, " xmlns=\"" S3_NAMESPACE "\">");
}

void xml_open(struct xml *x, const char *tag)
{
	xml_raw(x, "<");
	xml_raw(x, tag);
	xml_raw(x, ">");
}

void xml_close(struct xml *x, const char *tag)
{
	xml_raw(x, "</");
	xml_raw(x, tag);
	xml_raw(x, ">");
}

void xml_element(struct xml *x, const char *tag, const char *text)
{
	xml_open(x, tag);
	escaped(x, text ? text : "");
	xml_close(x, tag);
}

void xml_elementf(struct xml *x, const char *tag, const char *format, ...)
{
	char text[512];
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(text, sizeof text, format, arguments);
	va_end(arguments);
	xml_element(x, tag, text);
}

char *xml_finish(struct xml *x, const char *root)
{
	xml_close(x, root);
	if (x->failed) {
		free(x->data);
		return NULL;
	}
	return x->data;
}

/* ---- parsing ---- */

struct parse {
	XML_Parser parser;
	struct xml_doc *doc;
	char path[160];
	size_t path_lengths[MAX_DEPTH + 1];
	int depth;
	char text[MAX_TEXT + 1];
	size_t text_length;
	char *error;
	size_t error_size;
	bool failed;
};

static void stop(struct parse *p, const char *why)
{
	if (!p->failed)
		snprintf(p->error, p->error_size, "%s", why);
	p->failed = true;
	XML_StopParser(p->parser, XML_FALSE);
}

static void on_start(void *data, const char *name, const char **attributes)
{
	(void)attributes;
	struct parse *p = data;
	if (p->failed)
		return;
	if (p->depth >= MAX_DEPTH) {
		stop(p, "The XML you provided is nested too deeply");
		return;
	}
	const char *local = strchr(name, ':') ? strchr(name, ':') + 1 : name;
	size_t length = strlen(p->path);
	if (length + strlen(local) + 2 > sizeof p->path) {
		stop(p, "The XML you provided has an element name too long");
		return;
	}
	p->path_lengths[p->depth++] = length;
	if (length)
		strcat(p->path, "/");
	strcat(p->path, local);
	p->text_length = 0;
}

static void on_end(void *data, const char *name)
{
	(void)name;
	struct parse *p = data;
	if (p->failed)
		return;
	if (p->doc->count >= MAX_NODES) {
		stop(p, "The XML you provided has too many elements");
		return;
	}
	if (p->doc->count % 64 == 0) {
		struct xml_node *grown = realloc(p->doc->nodes, (p->doc->count + 64) * sizeof *grown);
		if (!grown) {
			stop(p, "out of memory");
			return;
		}
		p->doc->nodes = grown;
	}
	struct xml_node *node = &p->doc->nodes[p->doc->count];
	snprintf(node->path, sizeof node->path, "%s", p->path);
	p->text[p->text_length] = '\0';
	node->text = strdup(p->text);
	if (!node->text) {
		stop(p, "out of memory");
		return;
	}
	p->doc->count++;
	p->path[p->path_lengths[--p->depth]] = '\0';
	p->text_length = 0;
}

static void on_text(void *data, const char *text, int length)
{
	struct parse *p = data;
	if (p->failed)
		return;
	if (p->text_length + (size_t)length > MAX_TEXT) {
		stop(p, "The XML you provided has a text too long");
		return;
	}
	memcpy(p->text + p->text_length, text, (size_t)length);
	p->text_length += (size_t)length;
}

/* No entity may be declared: no billion laughs, no external entities. */
static void on_entity(void *data, const char *name, int parameter, const char *value, int length,
		      const char *base, const char *system, const char *public, const char *notation)
{
	(void)name; (void)parameter; (void)value; (void)length; (void)base; (void)system;
	(void)public; (void)notation;
	stop(data, "The XML you provided declares entities");
}

bool xml_parse(const char *body, size_t length, struct xml_doc *doc, char *message, size_t size)
{
	memset(doc, 0, sizeof *doc);
	struct parse p = {.doc = doc, .error = message, .error_size = size};
	p.parser = XML_ParserCreate("UTF-8");
	if (!p.parser) {
		snprintf(message, size, "out of memory");
		return false;
	}
	XML_SetUserData(p.parser, &p);
	XML_SetElementHandler(p.parser, on_start, on_end);
	XML_SetCharacterDataHandler(p.parser, on_text);
	XML_SetEntityDeclHandler(p.parser, on_entity);
	if (XML_Parse(p.parser, body, (int)length, XML_TRUE) != XML_STATUS_OK && !p.failed) {
		snprintf(message, size, "The XML you provided was not well-formed or did not validate "
			 "against our published schema (%s at line %lu)",
			 XML_ErrorString(XML_GetErrorCode(p.parser)),
			 (unsigned long)XML_GetCurrentLineNumber(p.parser));
		p.failed = true;
	}
	XML_ParserFree(p.parser);
	if (p.failed || doc->count == 0) {
		if (!p.failed)
			snprintf(message, size, "The XML you provided was empty");
		xml_doc_free(doc);
		return false;
	}
	return true;
}

void xml_doc_free(struct xml_doc *doc)
{
	for (size_t i = 0; i < doc->count; i++)
		free(doc->nodes[i].text);
	free(doc->nodes);
	doc->nodes = NULL;
	doc->count = 0;
}
