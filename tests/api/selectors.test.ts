import t from 'tap';
import {
  SelectorError,
  escapeFieldValue,
  fieldRequiresExactMatch,
  fieldSelectorToString,
  fieldsOf,
  fromLabelSelectorObject,
  isEverything,
  labelSelectorToString,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorFromSet,
  validateFieldSelector,
} from '../../pkg/api/selectors.js';

t.test('label selector: parse and canonical string', async (t) => {
  const cases: [string, string][] = [
    ['a=b', 'a=b'],
    ['a==b', 'a==b'],
    ['a!=b', 'a!=b'],
    ['a in (x,y)', 'a in (x,y)'],
    ['a in ( y , x , x )', 'a in (x,y)'],
    ['a notin (x)', 'a notin (x)'],
    ['a', 'a'],
    ['!a', '!a'],
    ['  b = 1 ,\ta ', 'a,b=1'],
    ['x in (foo,,baz),y,z notin ()', 'x in (,baz,foo),y,z notin ()'],
    ['a=', 'a='],
    ['a in (in,notin)', 'a in (in,notin)'],
    ['example.com/app=web', 'example.com/app=web'],
    ['a>5,b<2', 'a>5,b<2'],
    ['', ''],
    ['   ', ''],
  ];
  for (const [input, want] of cases) {
    t.equal(labelSelectorToString(parseLabelSelector(input)), want, JSON.stringify(input));
  }
  t.ok(isEverything(parseLabelSelector('')));
  t.notOk(isEverything(parseLabelSelector('a')));
});

t.test('label selector: parse errors carry Kubernetes messages', async (t) => {
  const cases: [string, string | RegExp][] = [
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b,', "found '', expected: identifier after ','"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a in x', "unable to parse requirement: found 'x' expected: '('"],
    ['a in (x', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (x y)', "unable to parse requirement: found 'y', expected: ',' or ')'"],
    ['a===b', "unable to parse requirement: found '=', expected: identifier"],
    ['a$b=c', /^unable to parse requirement: <nil>: Invalid value: "a\$b": name part must consist of alphanumeric characters/],
    ['a=b$', /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "b\$": a valid label must be an empty string/],
    [`${'k'.repeat(64)}=v`, /name part must be no more than 63 characters$/],
    ['a/b/c', /a qualified name must consist of/],
    ['/a', /prefix part must be non-empty/],
    ['Bad_Prefix/a', /prefix part a lowercase RFC 1123 subdomain/],
    [`a=${'v'.repeat(64)}`, /must be no more than 63 characters/],
    ['a>x', /for 'Gt', 'Lt' operators, the value must be an integer/],
  ];
  for (const [input, want] of cases) {
    t.throws(() => parseLabelSelector(input), { name: 'SelectorError', message: want }, JSON.stringify(input));
  }
  t.throws(() => parseLabelSelector('a b'), SelectorError);
});

t.test('label selector: matches', async (t) => {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['a=b', { a: 'b' }, true],
    ['a=b', { a: 'c' }, false],
    ['a=b', {}, false],
    ['a==b', { a: 'b' }, true],
    ['a!=b', {}, true],
    ['a!=b', { a: 'b' }, false],
    ['a!=b', { a: 'c' }, true],
    ['a in (x,y)', { a: 'y' }, true],
    ['a in (x,y)', { a: 'z' }, false],
    ['a in (x,y)', {}, false],
    ['a notin (x)', {}, true],
    ['a notin (x)', { a: 'x' }, false],
    ['a notin (x)', { a: 'y' }, true],
    ['a', { a: '' }, true],
    ['a', {}, false],
    ['!a', {}, true],
    ['!a', { a: '1' }, false],
    ['a=b,c', { a: 'b', c: 'x' }, true],
    ['a=b,c', { a: 'b' }, false],
    ['a=', { a: '' }, true],
    ['a=', {}, false],
    ['', { any: 'thing' }, true],
    ['', undefined, true],
    ['a', undefined, false],
    ['!a', undefined, true],
    ['a>5', { a: '10' }, true],
    ['a>5', { a: '5' }, false],
    ['a>5', { a: 'x' }, false],
    ['a<5', { a: '-3' }, true],
    ['a<5', {}, false],
    ['toString', {}, false],
  ];
  for (const [sel, labels, want] of cases) {
    t.equal(matchesLabels(parseLabelSelector(sel), labels), want, `${sel} ~ ${JSON.stringify(labels)}`);
  }
});

t.test('label selector: from metav1 LabelSelector objects', async (t) => {
  const nothing = fromLabelSelectorObject(undefined);
  t.equal(matchesLabels(nothing, {}), false, 'nil selects nothing');
  t.equal(matchesLabels(fromLabelSelectorObject(null), { a: 'b' }), false);
  t.equal(labelSelectorToString(nothing), '');
  t.notOk(isEverything(nothing));

  const everything = fromLabelSelectorObject({});
  t.ok(isEverything(everything), '{} selects everything');
  t.equal(matchesLabels(everything, { a: 'b' }), true);

  const sel = fromLabelSelectorObject({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['b', 'a'] },
      { key: 'env', operator: 'DoesNotExist' },
      { key: 'track', operator: 'NotIn', values: ['canary'] },
      { key: 'zone', operator: 'Exists' },
    ],
  });
  t.equal(labelSelectorToString(sel), 'app=web,!env,tier in (a,b),track notin (canary),zone');
  t.equal(matchesLabels(sel, { app: 'web', tier: 'a', zone: 'z1' }), true);
  t.equal(matchesLabels(sel, { app: 'web', tier: 'a', zone: 'z1', env: 'prod' }), false);
  t.equal(matchesLabels(sel, { app: 'web', tier: 'a', zone: 'z1', track: 'canary' }), false);
  t.equal(matchesLabels(sel, { app: 'web', tier: 'c', zone: 'z1' }), false);

  t.throws(() => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'Foo' }] }), {
    name: 'SelectorError',
    message: '"Foo" is not a valid label selector operator',
  });
  t.throws(() => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
    message: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
  });
  t.throws(() => fromLabelSelectorObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), {
    message: 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
  });
  t.throws(() => fromLabelSelectorObject({ matchLabels: { 'a b': 'c' } }), { message: /^key: Invalid value: "a b": name part must consist/ });
  t.throws(() => fromLabelSelectorObject({ matchLabels: { a: 'b c' } }), { message: /^values\[0\]\[a\]: Invalid value: "b c"/ });

  const fromSet = selectorFromSet({ b: '2', a: '1' });
  t.equal(labelSelectorToString(fromSet), 'a=1,b=2');
  t.ok(isEverything(selectorFromSet(undefined)));
});

t.test('field selector: parse, escaping, canonical string', async (t) => {
  const cases: [string, { field: string; operator: string; value: string }[]][] = [
    ['metadata.name=x', [{ field: 'metadata.name', operator: '=', value: 'x' }]],
    ['a==b', [{ field: 'a', operator: '=', value: 'b' }]],
    ['a!=b', [{ field: 'a', operator: '!=', value: 'b' }]],
    ['b=2,a=1', [{ field: 'a', operator: '=', value: '1' }, { field: 'b', operator: '=', value: '2' }]],
    ['a=', [{ field: 'a', operator: '=', value: '' }]],
    ['x=a\\,b', [{ field: 'x', operator: '=', value: 'a,b' }]],
    ['x=a\\=b', [{ field: 'x', operator: '=', value: 'a=b' }]],
    ['x=a\\\\b', [{ field: 'x', operator: '=', value: 'a\\b' }]],
    ['y=c,x=a\\,b', [{ field: 'x', operator: '=', value: 'a,b' }, { field: 'y', operator: '=', value: 'c' }]],
    ['a=1,,b=2', [{ field: 'a', operator: '=', value: '1' }, { field: 'b', operator: '=', value: '2' }]],
    ['', []],
  ];
  for (const [input, want] of cases) {
    t.same(parseFieldSelector(input).requirements, want, JSON.stringify(input));
  }
  t.equal(fieldSelectorToString(parseFieldSelector('x=a\\,b\\=c\\\\d,a!=1')), 'a!=1,x=a\\,b\\=c\\\\d');
  t.equal(escapeFieldValue('a,b=c\\'), 'a\\,b\\=c\\\\');
  t.equal(fieldRequiresExactMatch(parseFieldSelector('metadata.name=web,a!=b'), 'metadata.name'), 'web');
  t.equal(fieldRequiresExactMatch(parseFieldSelector('metadata.name!=web'), 'metadata.name'), undefined);
});

t.test('field selector: parse errors', async (t) => {
  const cases: [string, string][] = [
    ['x', "invalid selector: 'x'; can't understand 'x'"],
    ['a=1,x', "invalid selector: 'a=1,x'; can't understand 'x'"],
    ['x=a=b', 'invalid field selector: unescaped character in value: 61'],
    ['x=a,b', "invalid selector: 'x=a,b'; can't understand 'b'"],
    ['x=a\\qb', 'invalid field selector: invalid escape sequence: \\q'],
    ['x=a\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [input, want] of cases) {
    t.throws(() => parseFieldSelector(input), { name: 'SelectorError', message: want }, JSON.stringify(input));
  }
});

t.test('field selector: matches', async (t) => {
  const fields = { 'metadata.name': 'web', 'status.phase': 'Running' };
  const cases: [string, boolean][] = [
    ['metadata.name=web', true],
    ['metadata.name==web', true],
    ['metadata.name=db', false],
    ['metadata.name!=db', true],
    ['metadata.name!=web', false],
    ['metadata.name=web,status.phase=Running', true],
    ['metadata.name=web,status.phase!=Running', false],
    ['spec.nodeName=', true],
    ['spec.nodeName=n1', false],
    ['', true],
  ];
  for (const [sel, want] of cases) t.equal(matchesFields(parseFieldSelector(sel), fields), want, sel);
});

t.test('fieldsOf: selectable fields per kind', async (t) => {
  const pod = {
    metadata: { name: 'web', namespace: 'default' },
    spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default' },
    status: { phase: 'Running', podIP: '10.42.0.9', podIPs: [{ ip: '10.42.0.5' }], nominatedNodeName: 'n2' },
  };
  t.same(fieldsOf('pods', pod), {
    'metadata.name': 'web',
    'metadata.namespace': 'default',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'default',
    'spec.hostNetwork': 'false',
    'status.phase': 'Running',
    'status.podIP': '10.42.0.5',
    'status.nominatedNodeName': 'n2',
  });
  t.equal(fieldsOf('pods', { spec: { hostNetwork: true } })['spec.hostNetwork'], 'true');
  t.equal(fieldsOf('pods', { status: { podIP: '10.42.0.7' } })['status.podIP'], '10.42.0.7');

  const event = {
    metadata: { name: 'e1', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{c}' },
    reason: 'Pulled',
    type: 'Normal',
    reportingComponent: 'kubelet',
  };
  t.same(fieldsOf('events', event), {
    'metadata.name': 'e1',
    'metadata.namespace': 'default',
    'involvedObject.kind': 'Pod',
    'involvedObject.namespace': 'default',
    'involvedObject.name': 'web',
    'involvedObject.uid': 'u1',
    'involvedObject.apiVersion': 'v1',
    'involvedObject.resourceVersion': '7',
    'involvedObject.fieldPath': 'spec.containers{c}',
    reason: 'Pulled',
    reportingComponent: 'kubelet',
    source: 'kubelet',
    type: 'Normal',
  });
  t.equal(fieldsOf('events', { ...event, source: { component: 'scheduler' } }).source, 'scheduler');

  t.same(fieldsOf('nodes', { metadata: { name: 'n1' }, spec: { unschedulable: true } }), {
    'metadata.name': 'n1', 'metadata.namespace': '', 'spec.unschedulable': 'true',
  });
  t.equal(fieldsOf('secrets', { type: 'Opaque' }).type, 'Opaque');
  t.equal(fieldsOf('namespaces', { status: { phase: 'Terminating' } })['status.phase'], 'Terminating');
  t.equal(fieldsOf('replicasets.apps', { status: { replicas: 3 } })['status.replicas'], '3');
  t.equal(fieldsOf('replicasets.apps', {})['status.replicas'], '0');
  t.same(fieldsOf('services', { spec: { clusterIP: 'None', type: 'ClusterIP' } }), {
    'metadata.name': '', 'metadata.namespace': '', 'spec.clusterIP': 'None', 'spec.type': 'ClusterIP',
  });
  t.same(fieldsOf('deployments.apps', { metadata: { name: 'd', namespace: 'ns' }, spec: { replicas: 2 } }), {
    'metadata.name': 'd', 'metadata.namespace': 'ns',
  });
  t.same(fieldsOf('pods', { metadata: 'broken', spec: [], status: null })['status.phase'], '', 'malformed objects read as zero values');

  // A field selector as kubectl describe sends it, end to end.
  const sel = validateFieldSelector('events', parseFieldSelector('involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Pod'));
  t.equal(matchesFields(sel, fieldsOf('events', event)), true);
});

t.test('validateFieldSelector', async (t) => {
  const ok: [string, string, string][] = [
    ['pods', 'spec.nodeName=n1,status.phase!=Running', 'spec.nodeName=n1,status.phase!=Running'],
    ['pods', 'spec.host=n1', 'spec.nodeName=n1'],
    ['events', 'involvedObject.uid=u,reason=Failed', 'involvedObject.uid=u,reason=Failed'],
    ['nodes', 'spec.unschedulable=true', 'spec.unschedulable=true'],
    ['secrets', 'type=kubernetes.io/tls', 'type=kubernetes.io/tls'],
    ['services', 'spec.clusterIP=None', 'spec.clusterIP=None'],
    ['replicasets.apps', 'status.replicas=0', 'status.replicas=0'],
    ['configmaps', 'metadata.name=a,metadata.namespace=b', 'metadata.name=a,metadata.namespace=b'],
    ['deployments.apps', 'metadata.name=web', 'metadata.name=web'],
  ];
  for (const [gr, input, want] of ok) {
    t.equal(fieldSelectorToString(validateFieldSelector(gr, parseFieldSelector(input))), want, `${gr} ${input}`);
  }
  const bad: [string, string, string][] = [
    ['pods', 'foo=bar', 'field label not supported: foo'],
    ['pods', 'metadata.name=a,spec.bogus=b', 'field label not supported: spec.bogus'],
    ['nodes', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['namespaces', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['events', 'message=x', 'field label not supported: message'],
    ['deployments.apps', 'spec.replicas=1', '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    ['configmaps', 'toString=1', '"toString" is not a known field selector: only "metadata.name", "metadata.namespace"'],
  ];
  for (const [gr, input, want] of bad) {
    t.throws(() => validateFieldSelector(gr, parseFieldSelector(input)), { name: 'SelectorError', message: want }, `${gr} ${input}`);
  }
});
