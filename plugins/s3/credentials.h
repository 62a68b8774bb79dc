/* plugins/s3/credentials.h — where the access key, secret, session token, region and endpoint
 * come from, found the way AWS's own tools find them (and stor's key_file). Reads the environment
 * and the two AWS files; logs nothing, calls no room. */
#ifndef S3_CREDENTIALS_H
#define S3_CREDENTIALS_H

#include <stor/plugin.h>

struct s3_found {
    char *access_key, *secret_key, *session_token; /* malloc'd; the secret is wiped when freed */
    char *source;   /* where the key came from: "key_file PATH", "environment", "profile NAME" */
    char *region;   /* the profile's region, or NULL */
    char *endpoint; /* AWS_ENDPOINT_URL(_S3) or the profile's endpoint_url, or NULL */
    int loose_file; /* a key file readable by others (the caller warns) */
};

/* Credentials in this order:
 *   1. key_file (not NULL): two lines, access key id then secret (stor's profiles' convention);
 *   2. profile given (-o profile): that profile of the AWS files, and nothing else;
 *   3. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 *   4. the profile $AWS_PROFILE (else "default") of $AWS_SHARED_CREDENTIALS_FILE (else
 *      ~/.aws/credentials), then of $AWS_CONFIG_FILE (else ~/.aws/config, section
 *      "[profile NAME]" or "[default]").
 * The region and endpoint of the profile are read from the config file whichever way the key
 * came. None found is STOR_EAUTH saying where it looked. */
enum stor_status s3_credentials_find(const char *profile, const char *key_file,
                                     struct s3_found *found, struct stor_error *err);
void s3_found_free(struct s3_found *found);

/* The region when no -o region is given: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else
 * "us-east-1" (static strings or the found one; never NULL). */
const char *s3_credentials_region(const struct s3_found *found);

#endif
