/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Infers once against a running model with the C client and prints its answer.
 *
 *   aimass run configs/quickstart.yaml        # serves "fashion" on port 8080
 *   build/clients/quickstart_c --url http://127.0.0.1:8080 --model fashion
 *
 * It reads the model's metadata, sends one row of zeros to each numeric input (binary tensor
 * data), and prints every output. Exits 1 with the server's message on an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aimass_client.h"

static int fail(aimass_client_error* error) {
  if (aimass_client_error_status(error) > 0) {
    fprintf(stderr, "error: HTTP %d: %s\n", aimass_client_error_status(error),
            aimass_client_error_message(error));
  } else {
    fprintf(stderr, "error: %s\n", aimass_client_error_message(error));
  }
  aimass_client_error_free(error);
  return 1;
}

/* Adds one row of zeros for every numeric input the metadata lists. */
static int add_zero_inputs(aimass_client_request* request, const aimass_client_json* metadata,
                           aimass_client_error** error) {
  const aimass_client_value* inputs =
      aimass_client_value_get(aimass_client_json_root(metadata), "inputs");
  for (size_t i = 0; i < aimass_client_value_size(inputs); ++i) {
    const aimass_client_value* input = aimass_client_value_at(inputs, i);
    const aimass_client_value* shape_value = aimass_client_value_get(input, "shape");
    aimass_client_datatype type =
        aimass_client_datatype_parse(aimass_client_value_get_string(input, "datatype"));
    int optional = 0;
    aimass_client_value_bool(aimass_client_value_get(input, "optional"), &optional);
    size_t rank = aimass_client_value_size(shape_value);
    if (optional || type == AIMASS_CLIENT_BYTES || type == AIMASS_CLIENT_INVALID_TYPE ||
        rank > 8) {
      continue;
    }
    int64_t shape[8];
    size_t count = 1;
    for (size_t d = 0; d < rank; ++d) {
      int64_t dim = 1;
      aimass_client_value_int64(aimass_client_value_at(shape_value, d), &dim);
      shape[d] = dim < 0 ? 1 : dim; /* a variable dimension: one row */
      count *= (size_t)shape[d];
    }
    size_t bytes = count * aimass_client_datatype_size(type);
    void* zeros = calloc(bytes ? bytes : 1, 1);
    if (!zeros) {
      return 0;
    }
    aimass_client_code code = aimass_client_request_add_input(
        request, aimass_client_value_get_string(input, "name"), type, shape, rank, zeros, bytes,
        error);
    free(zeros);
    if (code != AIMASS_CLIENT_OK) {
      return 0;
    }
  }
  return 1;
}

static void print_output(const aimass_client_output* output) {
  size_t rank = aimass_client_output_rank(output);
  const int64_t* shape = aimass_client_output_shape(output);
  aimass_client_datatype type = aimass_client_output_datatype(output);
  printf("  %s %s [", aimass_client_output_name(output), aimass_client_datatype_name(type));
  for (size_t d = 0; d < rank; ++d) {
    printf("%s%lld", d ? ", " : "", (long long)shape[d]);
  }
  printf("]:");
  size_t count = aimass_client_output_element_count(output);
  const void* data = aimass_client_output_data(output, NULL);
  for (size_t i = 0; i < count; ++i) {
    size_t length = 0;
    switch (type) {
      case AIMASS_CLIENT_FP32:
        printf(" %g", (double)((const float*)data)[i]);
        break;
      case AIMASS_CLIENT_FP64:
        printf(" %g", ((const double*)data)[i]);
        break;
      case AIMASS_CLIENT_INT32:
        printf(" %ld", (long)((const int32_t*)data)[i]);
        break;
      case AIMASS_CLIENT_INT64:
        printf(" %lld", (long long)((const int64_t*)data)[i]);
        break;
      case AIMASS_CLIENT_BOOL:
        printf(" %s", ((const uint8_t*)data)[i] ? "true" : "false");
        break;
      case AIMASS_CLIENT_BYTES: {
        const char* element = aimass_client_output_bytes_at(output, i, &length);
        printf(" %.*s", (int)length, element);
        break;
      }
      default:
        printf(" ?");
    }
  }
  printf("\n");
}

int main(int argc, char** argv) {
  const char* url = "http://127.0.0.1:8080";
  const char* model = "fashion";
  const char* api_key = getenv("AIMASS_API_KEY");
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--url") == 0) {
      url = argv[i + 1];
    } else if (strcmp(argv[i], "--model") == 0) {
      model = argv[i + 1];
    } else if (strcmp(argv[i], "--api-key") == 0) {
      api_key = argv[i + 1];
    } else {
      fprintf(stderr, "usage: %s [--url URL] [--model NAME] [--api-key KEY]\n", argv[0]);
      return 2;
    }
  }

  aimass_client_error* error = NULL;
  aimass_client_options* options = aimass_client_options_create();
  aimass_client_options_set_api_key(options, api_key);
  aimass_client* client = NULL;
  aimass_client_code code = aimass_client_create(url, options, &client, &error);
  aimass_client_options_free(options);
  if (code != AIMASS_CLIENT_OK) {
    return fail(error);
  }

  aimass_client_json* metadata = NULL;
  aimass_client_request* request = aimass_client_request_create();
  aimass_client_result* result = NULL;
  int ok = aimass_client_model_metadata(client, model, NULL, &metadata, &error) ==
               AIMASS_CLIENT_OK &&
           add_zero_inputs(request, metadata, &error) &&
           aimass_client_request_set_id(request, "quickstart", &error) == AIMASS_CLIENT_OK &&
           aimass_client_infer(client, model, NULL, request, &result, &error) == AIMASS_CLIENT_OK;
  if (ok) {
    printf("%s version %s (request %s):\n", aimass_client_result_model_name(result),
           aimass_client_result_model_version(result), aimass_client_result_id(result));
    for (size_t i = 0; i < aimass_client_result_output_count(result); ++i) {
      print_output(aimass_client_result_output(result, i));
    }
  }
  aimass_client_result_free(result);
  aimass_client_request_free(request);
  aimass_client_json_free(metadata);
  aimass_client_free(client);
  return ok ? 0 : fail(error);
}
