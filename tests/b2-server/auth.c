/* auth.c — keys, capabilities and tokens. Tokens are random and opaque like B2's; one mutex
 * guards the token tables (keys are immutable once the daemon runs). */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/linkhash.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "server.h"

static const char *const capability_names[CAP_COUNT] = {
	"listKeys", "writeKeys", "deleteKeys", "listBuckets", "listAllBucketNames",
	"readBuckets", "writeBuckets", "deleteBuckets", "readBucketRetentions",
	"writeBucketRetentions", "readBucketEncryption", "writeBucketEncryption",
	"listFiles", "readFiles", "shareFiles", "writeFiles", "deleteFiles",
	"readFileRetentions", "writeFileRetentions", "readFileLegalHolds",
	"writeFileLegalHolds", "bypassGovernance",
};

#define MAX_KEYS 64
static struct key keys[MAX_KEYS];
static size_t key_count;

struct token {
	const struct key *key;
	int64_t expires_ms;
	bool is_upload;
	bool is_download;            /* b2_get_download_authorization: bucket + name prefix */
	bool busy;                   /* an upload is running with this token */
	char bucket_name[64];
	char *prefix;
	char url_id[24];
	char target_id[96];
};

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lh_table *tokens; /* token string → struct token */

static void free_token_entry(struct lh_entry *entry)
{
	free((void *)lh_entry_k(entry));
	struct token *token = lh_entry_v(entry);
	if (token)
		free(token->prefix);
	free(token);
}

static struct lh_table *token_table(void)
{
	if (!tokens)
		tokens = lh_kchar_table_new(1024, free_token_entry);
	return tokens;
}

static bool add_key(const char *id, const char *secret, unsigned capabilities, const char *bucket,
		    const char *prefix)
{
	if (key_count == MAX_KEYS)
		return false;
	struct key *key = &keys[key_count++];
	key->id = strdup(id);
	key->secret = strdup(secret);
	key->capabilities = capabilities;
	key->bucket_name = bucket && *bucket ? strdup(bucket) : NULL;
	key->name_prefix = prefix && *prefix ? strdup(prefix) : NULL;
	return true;
}

bool auth_add_master_key(const char *id, const char *secret)
{
	return add_key(id, secret, (1u << CAP_COUNT) - 1, NULL, NULL);
}

bool auth_add_restricted_key(const char *spec, char *error, size_t error_size)
{
	char *copy = strdup(spec), *fields[5] = {0}, *rest = copy;
	size_t count = 0;
	/* The prefix is last and may itself contain ':'. */
	while (count < 4 && rest) {
		fields[count++] = strsep(&rest, ":");
	}
	if (rest)
		fields[count++] = rest;
	if (count < 4 || !*fields[0] || !*fields[1] || !*fields[2]) {
		snprintf(error, error_size, "expected ID:KEY:BUCKET:CAPS[:PREFIX]");
		free(copy);
		return false;
	}
	unsigned capabilities = 0;
	for (char *caps = fields[3], *name; (name = strsep(&caps, ","));) {
		size_t i;
		for (i = 0; i < CAP_COUNT && strcmp(name, capability_names[i]); i++)
			;
		if (i == CAP_COUNT) {
			snprintf(error, error_size, "unknown capability '%s'", name);
			free(copy);
			return false;
		}
		capabilities |= 1u << i;
	}
	bool added = add_key(fields[0], fields[1], capabilities, fields[2], fields[4]);
	if (!added)
		snprintf(error, error_size, "too many keys");
	free(copy);
	return added;
}

void auth_free_all(void)
{
	for (size_t i = 0; i < key_count; i++) {
		free(keys[i].id);
		free(keys[i].secret);
		free(keys[i].bucket_name);
		free(keys[i].name_prefix);
	}
	key_count = 0;
	if (tokens)
		lh_table_free(tokens);
	tokens = NULL;
}

bool key_has(const struct key *key, enum capability capability)
{
	return key->capabilities & (1u << capability);
}

bool key_allows_bucket(const struct key *key, const char *bucket_name)
{
	return !key->bucket_name || (bucket_name && strcmp(key->bucket_name, bucket_name) == 0);
}

bool key_allows_name(const struct key *key, const char *name)
{
	return !key->name_prefix ||
	       (name && strncmp(name, key->name_prefix, strlen(key->name_prefix)) == 0);
}

json_object *key_capabilities_json(const struct key *key)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < CAP_COUNT; i++)
		if (key_has(key, (enum capability)i))
			json_object_array_add(list, json_object_new_string(capability_names[i]));
	return list;
}

const struct key *auth_check_basic(const char *authorization)
{
	if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
		return NULL;
	const char *encoded = authorization + 6;
	while (*encoded == ' ')
		encoded++;
	size_t length = strlen(encoded);
	if (length == 0 || length % 4 || length > 1024)
		return NULL;
	unsigned char decoded[800];
	int decoded_length = EVP_DecodeBlock(decoded, (const unsigned char *)encoded, (int)length);
	if (decoded_length < 0)
		return NULL;
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	for (const char *pad = encoded + length - 1; pad >= encoded && *pad == '='; pad--)
		decoded_length--;
	decoded[decoded_length] = '\0';
	char *colon = strchr((char *)decoded, ':');
	if (!colon || strlen((char *)decoded) != (size_t)decoded_length)
		return NULL;
	*colon = '\0';
	for (size_t i = 0; i < key_count; i++)
		if (strcmp(keys[i].id, (char *)decoded) == 0 && strcmp(keys[i].secret, colon + 1) == 0)
			return &keys[i];
	return NULL;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char raw[32];
	static const char hex[] = "0123456789abcdef";
	if (bytes > sizeof raw)
		bytes = sizeof raw;
	if (RAND_bytes(raw, (int)bytes) != 1)
		abort(); /* a test server with no randomness cannot hand out tokens */
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * bytes] = '\0';
}

static void insert_token(const char *text, struct token *token)
{
	pthread_mutex_lock(&token_lock);
	lh_table_insert(token_table(), strdup(text), token);
	pthread_mutex_unlock(&token_lock);
}

void auth_issue_account_token(const struct key *key, char *text, size_t text_size)
{
	char random[65];
	random_hex(random, 24);
	snprintf(text, text_size, "4_%s_acct", random);
	struct token *token = calloc(1, sizeof *token);
	if (!token)
		abort();
	token->key = key;
	token->expires_ms = now_ms() + server_config.token_ttl_ms;
	insert_token(text, token);
}

static struct token *find_token(const char *text)
{
	void *value = NULL;
	if (!tokens || !lh_table_lookup_ex(tokens, text, &value))
		return NULL;
	return value;
}

enum token_status auth_check_account_token(const char *text, const struct key **key)
{
	if (!text || !*text)
		return TOKEN_MISSING;
	enum token_status status = TOKEN_BAD;
	pthread_mutex_lock(&token_lock);
	struct token *token = find_token(text);
	if (token && !token->is_upload && !token->is_download) {
		status = token->expires_ms <= now_ms() ? TOKEN_EXPIRED : TOKEN_OK;
		*key = token->key;
	}
	pthread_mutex_unlock(&token_lock);
	return status;
}

void auth_issue_download_token(const struct key *key, const char *bucket_name, const char *prefix,
			       int64_t ttl_ms, char *text, size_t text_size)
{
	char random[65];
	random_hex(random, 24);
	snprintf(text, text_size, "3_%s_dnld", random);
	struct token *token = calloc(1, sizeof *token);
	if (!token || !(token->prefix = strdup(prefix)))
		abort();
	token->key = key;
	token->is_download = true;
	token->expires_ms = now_ms() + ttl_ms;
	snprintf(token->bucket_name, sizeof token->bucket_name, "%s", bucket_name);
	insert_token(text, token);
}

enum token_status auth_check_download_token(const char *text, const char *bucket_name,
					    const char *file_name, const struct key **key)
{
	enum token_status status = TOKEN_BAD;
	pthread_mutex_lock(&token_lock);
	struct token *token = text ? find_token(text) : NULL;
	if (token && token->is_download && strcmp(token->bucket_name, bucket_name) == 0 &&
	    strncmp(file_name, token->prefix, strlen(token->prefix)) == 0) {
		status = token->expires_ms <= now_ms() ? TOKEN_EXPIRED : TOKEN_OK;
		*key = token->key;
	}
	pthread_mutex_unlock(&token_lock);
	return status;
}

void auth_issue_upload_token(const struct key *key, const char *target_id, char *text,
			     size_t text_size, char *url_id, size_t url_id_size)
{
	char random[65];
	random_hex(random, 24);
	snprintf(text, text_size, "2_%s_upld", random);
	struct token *token = calloc(1, sizeof *token);
	if (!token)
		abort();
	token->key = key;
	token->is_upload = true;
	token->expires_ms = now_ms() + server_config.token_ttl_ms;
	random_hex(token->url_id, 8);
	snprintf(token->target_id, sizeof token->target_id, "%s", target_id);
	snprintf(url_id, url_id_size, "%s", token->url_id);
	insert_token(text, token);
}

enum token_status auth_begin_upload(const char *text, const char *url_id, const char *target_id,
				    const struct key **key)
{
	if (!text || !*text)
		return TOKEN_MISSING;
	enum token_status status;
	pthread_mutex_lock(&token_lock);
	struct token *token = find_token(text);
	if (!token || !token->is_upload || strcmp(token->url_id, url_id) != 0 ||
	    strcmp(token->target_id, target_id) != 0) {
		status = TOKEN_BAD;
	} else if (token->expires_ms <= now_ms()) {
		status = TOKEN_EXPIRED;
	} else if (token->busy) {
		status = TOKEN_BUSY;
	} else {
		token->busy = true;
		*key = token->key;
		status = TOKEN_OK;
	}
	pthread_mutex_unlock(&token_lock);
	return status;
}

void auth_end_upload(const char *text)
{
	pthread_mutex_lock(&token_lock);
	struct token *token = find_token(text);
	if (token)
		token->busy = false;
	pthread_mutex_unlock(&token_lock);
}

static void expire_tokens(bool upload)
{
	int64_t now = now_ms();
	pthread_mutex_lock(&token_lock);
	if (tokens) {
		struct lh_entry *entry;
		lh_foreach(tokens, entry)
		{
			struct token *token = lh_entry_v(entry);
			if (token->is_upload == upload && token->expires_ms > now)
				token->expires_ms = now;
		}
	}
	pthread_mutex_unlock(&token_lock);
}

void auth_expire_account_tokens(void)
{
	expire_tokens(false);
}

void auth_expire_upload_tokens(void)
{
	expire_tokens(true);
}
