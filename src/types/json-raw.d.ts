// JSON.rawJSON / JSON.isRawJSON (TC39 "JSON.parse source text access", shipped in V8 11.4 and so
// in every Node this project supports); TypeScript's lib does not declare them yet.
interface JSON {
  rawJSON(text: string): { readonly rawJSON: string };
  isRawJSON(value: unknown): boolean;
}
