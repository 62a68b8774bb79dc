/* tests/fuzz/fuzz_s3_xml.c — the S3 test server's XML request-body reader (tests/s3-server/xml.c,
 * expat) on hostile bodies: entity declarations, depth, long texts, many elements; and the XML
 * writer on the texts it read. */
#include "fuzz.h"

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xml_doc doc;
	char message[256];
	if (xml_parse((const char *)data, size, &doc, message, sizeof message)) {
		struct xml x;
		xml_begin(&x, "Echo");
		for (size_t i = 0; i < doc.count; i++)
			xml_element(&x, "Text", doc.nodes[i].text);
		free(xml_finish(&x, "Echo"));
		xml_doc_free(&doc);
	} else if (strlen(message) >= sizeof message) {
		abort();
	}
	return 0;
}
