import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for the web app, generated from the exported contract and the
// operations the app uses (both live in ../graphql).
const config: CodegenConfig = {
  schema: "../graphql/schema.graphql",
  documents: ["../graphql/operations/**/*.graphql"],
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: "string", Date: "string" } },
    },
  },
  ignoreNoDocuments: false,
};

export default config;
