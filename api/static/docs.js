// Starts Swagger UI on /docs. It lives in this file rather than in an inline script (as FastAPI's
// own page has it) so that the page's Content-Security-Policy can allow scripts from this site only.
// The page names the OpenAPI description's address in the holder's data-openapi-url.
(function () {
  "use strict";

  var holder = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: holder.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    // FastAPI's defaults (fastapi.openapi.docs.swagger_ui_default_parameters), but for deepLinking.
    layout: "BaseLayout",
    // No deep links: Swagger UI puts each one as a link inside the operation's expand button, a
    // control nested in a control that screen readers and keyboards cannot use (axe-core:
    // nested-interactive, tests/test_browser_accessibility.py).
    deepLinking: false,
    showExtensions: true,
    showCommonExtensions: true,
    // Swagger UI's default would show a badge fetched from validator.swagger.io, a request to
    // another host from every intranet address; no validator is ever asked.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
})();
