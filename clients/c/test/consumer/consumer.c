/* SPDX-License-Identifier: Apache-2.0 */
/* Encodes a request and decodes an answer with the installed C client; exits 0 when both
 * come out as expected. */
#include <stdio.h>
#include <string.h>

#include <aimass_client.h>

int main(void) {
  const float row[2] = {1.0f, 2.0f};
  const int64_t shape[2] = {1, 2};
  const char* body = NULL;
  size_t size = 0, header = 0;
  aimass_client_request* request = aimass_client_request_create();
  if (aimass_client_request_add_input(request, "input", AIMASS_CLIENT_FP32, shape, 2, row,
                                      sizeof row, NULL) != AIMASS_CLIENT_OK ||
      aimass_client_request_encode(request, &body, &size, &header, NULL) != AIMASS_CLIENT_OK ||
      size != header + sizeof row) {
    fprintf(stderr, "encoding failed\n");
    return 1;
  }
  aimass_client_request_free(request);
  const char* answer = "{\"outputs\":[{\"name\":\"y\",\"datatype\":\"INT64\",\"shape\":[1],"
                       "\"data\":[3]}]}";
  aimass_client_result* result = NULL;
  aimass_client_error* error = NULL;
  if (aimass_client_result_decode(answer, strlen(answer), strlen(answer), &result, &error) !=
      AIMASS_CLIENT_OK) {
    fprintf(stderr, "decoding failed: %s\n", aimass_client_error_message(error));
    return 1;
  }
  const int64_t* y = aimass_client_output_data(aimass_client_result_find_output(result, "y"), NULL);
  int ok = y && *y == 3;
  aimass_client_result_free(result);
  printf("c consumer: %s\n", ok ? "ok" : "wrong value");
  return ok ? 0 : 1;
}
