// An OAuthClientProvider for the official TypeScript SDK that keeps everything in memory and hands the
// authorization URL to a headless browser (`approve(url)` resolves with the URL the browser was sent back to).

export class HeadlessOAuthProvider {
  /**
   * @param {object} options
   * @param {string} options.redirectUrl the client's redirect URI (never contacted: the code comes from the redirect)
   * @param {object} options.clientMetadata what the SDK registers (or what the metadata document says)
   * @param {string} [options.clientMetadataUrl] the client's metadata document URL, used as client_id when the server supports it
   * @param {(url: URL) => Promise<URL>} options.approve plays the person in the browser
   */
  constructor({ redirectUrl, clientMetadata, clientMetadataUrl, approve }) {
    this._redirectUrl = redirectUrl;
    this._clientMetadata = clientMetadata;
    this._clientMetadataUrl = clientMetadataUrl;
    this._approve = approve;
    this.authorizationUrl = undefined;
    this.callback = null;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return this._clientMetadata;
  }

  get clientMetadataUrl() {
    return this._clientMetadataUrl;
  }

  state() {
    return 'e2e-state-' + Math.random().toString(36).slice(2);
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this._client = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
  }

  saveCodeVerifier(verifier) {
    this._verifier = verifier;
  }

  codeVerifier() {
    return this._verifier;
  }

  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    this.callback = await this._approve(url);
  }
}
