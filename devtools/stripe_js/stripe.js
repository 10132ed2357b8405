/*
 * A Stripe.js stand-in for the local Stripe emulator (devtools/stripe_emulator.py).
 * Development and tests only; served at <emulator>/js.stripe.com/v3/.
 * Plain ES2017, no build step, no dependencies.
 *
 * Supports the Payment Element flow:
 *   const stripe = Stripe(pk);
 *   const elements = stripe.elements({clientSecret});
 *   const pe = elements.create('payment'); pe.mount('#payment-element');
 *   stripe.confirmPayment({elements, confirmParams: {return_url}, redirect: 'if_required'});
 *   stripe.retrievePaymentIntent(clientSecret); stripe.handleNextAction({clientSecret});
 *
 * The element is plain inputs in the page (no iframe) so browser tests can type into them:
 * input[name=cardnumber], input[name=exp-date], input[name=cvc]. 3-D Secure cards open an
 * overlay with #stripe-emulator-3ds-complete and #stripe-emulator-3ds-fail buttons.
 */
(function () {
  'use strict';

  const script = document.currentScript;
  const API_BASE = window.STRIPE_EMULATOR_API_BASE ||
    (script && script.src ? new URL(script.src).origin : 'http://127.0.0.1:8420');

  // --- HTTP against the emulated API ----------------------------------------------------------

  function encodeForm(params, prefix, out) {
    out = out || new URLSearchParams();
    Object.keys(params).forEach((key) => {
      const value = params[key];
      const name = prefix ? `${prefix}[${key}]` : key;
      if (value === undefined || value === null) return;
      if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item !== null && typeof item === 'object') encodeForm(item, `${name}[${i}]`, out);
          else out.append(`${name}[${i}]`, String(item));
        });
      } else if (typeof value === 'object') {
        encodeForm(value, name, out);
      } else {
        out.append(name, String(value));
      }
    });
    return out;
  }

  // Form-encoded bodies and no custom headers keep these "simple" CORS requests (no preflight);
  // the publishable key travels as `key`, as real Stripe.js sends it.
  async function request(method, path, params) {
    const url = new URL(API_BASE + path);
    const init = {method, headers: {Accept: 'application/json'}};
    if (method === 'GET') {
      url.search = encodeForm(params).toString();
    } else {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = encodeForm(params).toString();
    }
    let response;
    try {
      response = await fetch(url.toString(), init);
    } catch (e) {
      return {error: {type: 'api_connection_error',
                      message: `Could not reach the Stripe emulator at ${API_BASE}.`}};
    }
    let body = {};
    try { body = await response.json(); } catch (e) { /* empty or non-JSON body */ }
    if (!response.ok) {
      return {error: Object.assign({type: 'api_error', message: `HTTP ${response.status}`},
                                   body.error || {})};
    }
    return {data: body};
  }

  function intentId(clientSecret) {
    if (typeof clientSecret !== 'string' || clientSecret.indexOf('_secret_') < 0) {
      throw new Error('Stripe emulator: expected a PaymentIntent client secret (pi_..._secret_...).');
    }
    return clientSecret.split('_secret_')[0];
  }

  // --- card fields ----------------------------------------------------------------------------

  function validationError(code, message) {
    return {type: 'validation_error', code, message};
  }

  function luhnValid(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function readCard(values) {
    const number = values.number.replace(/[\s-]/g, '');
    if (!number) return {error: validationError('incomplete_number', 'Your card number is incomplete.')};
    if (!/^\d+$/.test(number) || number.length > 16 || !luhnValid(number)) {
      return {error: validationError('invalid_number', 'Your card number is invalid.')};
    }
    if (number.length < 16) {
      return {error: validationError('incomplete_number', 'Your card number is incomplete.')};
    }
    const expiry = /^(\d{1,2})\s*\/?\s*(\d{2}|\d{4})$/.exec(values.expiry.trim());
    if (!expiry) {
      return {error: validationError('incomplete_expiry', "Your card's expiration date is incomplete.")};
    }
    const month = Number(expiry[1]);
    let year = Number(expiry[2]);
    if (year < 100) year += 2000;
    if (month < 1 || month > 12) {
      return {error: validationError('invalid_expiry_month', "Your card's expiration month is invalid.")};
    }
    const now = new Date();
    if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
      return {error: validationError('invalid_expiry_year_past', "Your card's expiration year is in the past.")};
    }
    const cvc = values.cvc.trim();
    if (!/^\d{3}$/.test(cvc)) {
      return {error: validationError('incomplete_cvc', "Your card's security code is incomplete.")};
    }
    return {card: {number, exp_month: month, exp_year: year, cvc}};
  }

  function field(label, name, placeholder, autocomplete) {
    const wrapper = document.createElement('label');
    wrapper.style.cssText = 'display:flex;flex-direction:column;gap:4px;font:14px sans-serif;';
    wrapper.appendChild(document.createTextNode(label));
    const input = document.createElement('input');
    Object.assign(input, {name, placeholder, autocomplete, type: 'text', inputMode: 'numeric'});
    input.setAttribute('data-testid', `stripe-emulator-${name}`);
    input.style.cssText = 'width:100%;min-width:0;box-sizing:border-box;padding:8px;border:1px solid #ccc;border-radius:4px;font:16px monospace;';
    wrapper.appendChild(input);
    return {wrapper, input};
  }

  class PaymentElement {
    constructor(options) {
      this._options = options || {};
      this._handlers = {};
      this._root = null;
      this._inputs = null;
      this._error = null;
    }

    mount(target) {
      const container = typeof target === 'string' ? document.querySelector(target) : target;
      if (!container) throw new Error(`Stripe emulator: mount target ${target} not found.`);
      if (this._root) this.unmount();
      const root = document.createElement('div');
      root.className = 'stripe-emulator-payment-element';
      root.setAttribute('data-testid', 'stripe-emulator-payment-element');
      root.style.cssText = 'display:grid;grid-template-columns:2fr 1fr 1fr;gap:8px;';
      const number = field('Card number', 'cardnumber', '1234 1234 1234 1234', 'cc-number');
      const expiry = field('Expiration date', 'exp-date', 'MM / YY', 'cc-exp');
      const cvc = field('Security code', 'cvc', 'CVC', 'cc-csc');
      this._error = document.createElement('div');
      this._error.setAttribute('role', 'alert');
      this._error.style.cssText = 'grid-column:1/-1;color:#df1b41;font:13px sans-serif;';
      [number, expiry, cvc].forEach((f) => root.appendChild(f.wrapper));
      root.appendChild(this._error);
      this._inputs = {number: number.input, expiry: expiry.input, cvc: cvc.input};
      Object.values(this._inputs).forEach((input) => {
        input.addEventListener('input', () => this._changed());
        input.addEventListener('focus', () => this._emit('focus', {elementType: 'payment'}));
        input.addEventListener('blur', () => this._emit('blur', {elementType: 'payment'}));
      });
      container.appendChild(root);
      this._root = root;
      setTimeout(() => this._emit('ready', {elementType: 'payment'}), 0);
    }

    unmount() {
      if (this._root) this._root.remove();
      this._root = null;
      this._inputs = null;
    }

    destroy() { this.unmount(); this._handlers = {}; }

    on(event, handler) {
      (this._handlers[event] = this._handlers[event] || []).push(handler);
      return this;
    }

    off(event, handler) {
      this._handlers[event] = (this._handlers[event] || []).filter((h) => h !== handler);
      return this;
    }

    once(event, handler) {
      const wrapped = (payload) => { this.off(event, wrapped); handler(payload); };
      return this.on(event, wrapped);
    }

    update(options) { Object.assign(this._options, options || {}); }

    focus() { if (this._inputs) this._inputs.number.focus(); }

    blur() { if (document.activeElement) document.activeElement.blur(); }

    clear() {
      if (!this._inputs) return;
      Object.values(this._inputs).forEach((input) => { input.value = ''; });
      this._changed();
    }

    _emit(event, payload) {
      (this._handlers[event] || []).slice().forEach((handler) => handler(payload));
    }

    _values() {
      const i = this._inputs;
      return {number: i.number.value, expiry: i.expiry.value, cvc: i.cvc.value};
    }

    _changed() {
      const values = this._values();
      const empty = !values.number && !values.expiry && !values.cvc;
      this._showError(null);
      this._emit('change', {elementType: 'payment', empty, complete: !readCard(values).error,
                            value: {type: 'card'}});
    }

    _showError(error) {
      if (this._error) this._error.textContent = error ? error.message : '';
    }

    // {card} or {error}; shows the error under the fields like the real element does.
    _read() {
      if (!this._inputs) {
        return {error: validationError('incomplete', 'The Payment Element is not mounted.')};
      }
      const result = readCard(this._values());
      this._showError(result.error);
      return result;
    }
  }

  class Elements {
    constructor(stripe, options) {
      this._stripe = stripe;
      this._options = Object.assign({}, options);
      this._clientSecret = this._options.clientSecret;
      this._element = null;
    }

    create(type, options) {
      if (type !== 'payment') {
        throw new Error(`Stripe emulator: elements.create('${type}') is not supported; use 'payment'.`);
      }
      if (this._element) throw new Error('Stripe emulator: a Payment Element already exists.');
      this._element = new PaymentElement(options);
      return this._element;
    }

    getElement(type) { return type === 'payment' ? this._element : null; }

    update(options) {
      Object.assign(this._options, options || {});
      if (this._options.clientSecret) this._clientSecret = this._options.clientSecret;
    }

    async submit() {
      if (!this._element) return {error: validationError('incomplete', 'No Payment Element.')};
      const result = this._element._read();
      return result.error ? {error: result.error} : {};
    }

    async fetchUpdates() { return {}; }
  }

  // --- 3-D Secure --------------------------------------------------------------------------------

  function formatAmount(intent) {
    try {
      const format = new Intl.NumberFormat('en', {style: 'currency', currency: intent.currency.toUpperCase()});
      const digits = format.resolvedOptions().maximumFractionDigits;
      return format.format(intent.amount / Math.pow(10, digits));
    } catch (e) {
      return `${intent.amount} ${intent.currency}`;
    }
  }

  // Resolves true (authenticated) or false (failed) when the shopper clicks a button.
  function authenticate(intent) {
    return new Promise((resolve) => {
      const overlay = document.createElement('div');
      overlay.id = 'stripe-emulator-3ds';
      overlay.setAttribute('role', 'dialog');
      overlay.setAttribute('aria-modal', 'true');
      overlay.setAttribute('aria-label', '3D Secure test authentication');
      overlay.style.cssText = 'position:fixed;inset:0;z-index:2147483647;display:flex;' +
        'align-items:center;justify-content:center;background:rgba(0,0,0,.5);';
      const box = document.createElement('div');
      box.style.cssText = 'background:#fff;padding:24px;border-radius:8px;max-width:360px;' +
        'font:15px sans-serif;display:flex;flex-direction:column;gap:12px;';
      const title = document.createElement('strong');
      title.textContent = '3D Secure test page (Stripe emulator)';
      const text = document.createElement('p');
      text.textContent = `Authenticate a payment of ${formatAmount(intent)}.`;
      box.append(title, text);
      [['stripe-emulator-3ds-complete', 'Complete authentication', true],
       ['stripe-emulator-3ds-fail', 'Fail authentication', false]].forEach(([id, label, ok]) => {
        const button = document.createElement('button');
        Object.assign(button, {id, type: 'button', textContent: label});
        button.setAttribute('data-testid', id);
        button.addEventListener('click', () => { overlay.remove(); resolve(ok); });
        box.appendChild(button);
      });
      overlay.appendChild(box);
      document.body.appendChild(overlay);
      box.querySelector('button').focus();
    });
  }

  function authenticationError(intent) {
    const lastError = intent.last_payment_error || {};
    return {
      type: lastError.type || 'invalid_request_error',
      code: lastError.code || 'payment_intent_authentication_failure',
      decline_code: lastError.decline_code,
      message: lastError.message || 'We are unable to authenticate your payment method.',
      payment_intent: intent,
    };
  }

  // --- Stripe() ------------------------------------------------------------------------------------

  class StripeEmulator {
    constructor(publishableKey) {
      if (typeof publishableKey !== 'string' || publishableKey.indexOf('pk_') !== 0) {
        throw new Error('Stripe(): expected a publishable key (pk_...).');
      }
      this._key = publishableKey;
    }

    elements(options) { return new Elements(this, options); }

    async retrievePaymentIntent(clientSecret) {
      const result = await request('GET', `/v1/payment_intents/${intentId(clientSecret)}`,
                                   {key: this._key, client_secret: clientSecret});
      return result.error ? {error: result.error} : {paymentIntent: result.data};
    }

    // After a confirm that left the PaymentIntent in requires_action: 3-D Secure, then the result.
    async handleNextAction(options) {
      const clientSecret = (options || {}).clientSecret;
      const retrieved = await this.retrievePaymentIntent(clientSecret);
      if (retrieved.error) return retrieved;
      return this._finish(retrieved.paymentIntent, clientSecret);
    }

    async _finish(intent, clientSecret) {
      if (intent.status !== 'requires_action') return {paymentIntent: intent};
      const success = await authenticate(intent);
      const result = await request('POST', `/v1/payment_intents/${intent.id}/_authenticate`,
                                   {key: this._key, client_secret: clientSecret, success});
      if (result.error) return {error: result.error};
      if (result.data.status === 'requires_payment_method') {
        return {error: authenticationError(result.data)};
      }
      return {paymentIntent: result.data};
    }

    async confirmPayment(options) {
      options = options || {};
      const elements = options.elements;
      const confirmParams = options.confirmParams || {};
      const redirect = options.redirect || 'always';
      if (!elements || !elements._element) {
        throw new Error('stripe.confirmPayment(): pass the `elements` that created the Payment Element.');
      }
      const clientSecret = options.clientSecret || elements._clientSecret;
      const id = intentId(clientSecret);
      if (redirect === 'always' && !confirmParams.return_url) {
        throw new Error('stripe.confirmPayment(): confirmParams.return_url is required ' +
                        "unless redirect is 'if_required'.");
      }
      const card = elements._element._read();
      if (card.error) return {error: card.error};

      const pmData = confirmParams.payment_method_data || {};
      const created = await request('POST', '/v1/payment_methods', {
        key: this._key, type: 'card', card: card.card, billing_details: pmData.billing_details,
      });
      if (created.error) return {error: created.error};

      const confirmed = await request('POST', `/v1/payment_intents/${id}/confirm`, {
        key: this._key,
        client_secret: clientSecret,
        payment_method: created.data.id,
        return_url: confirmParams.return_url,
        receipt_email: confirmParams.receipt_email,
        shipping: confirmParams.shipping,
        setup_future_usage: confirmParams.setup_future_usage,
      });
      if (confirmed.error) {
        elements._element._showError(confirmed.error);
        return {error: confirmed.error};
      }
      const result = await this._finish(confirmed.data, clientSecret);
      if (result.error) {
        elements._element._showError(result.error);
        return result;
      }
      if (redirect === 'always') {
        const intent = result.paymentIntent;
        const target = new URL(confirmParams.return_url, window.location.href);
        target.searchParams.set('payment_intent', intent.id);
        target.searchParams.set('payment_intent_client_secret', clientSecret);
        target.searchParams.set('redirect_status',
          ['succeeded', 'requires_capture'].includes(intent.status) ? 'succeeded' : intent.status);
        window.location.assign(target.toString());
        return new Promise(() => {});  // the page is navigating away, as with real Stripe.js
      }
      return result;
    }
  }

  window.Stripe = function Stripe(publishableKey, options) {
    return new StripeEmulator(publishableKey, options);
  };
  window.Stripe.version = 3;
  window.Stripe.emulator = true;
}());
