// scalefront viewer-request function, generated from scalefront.toml (viewer-fn/src/lib.rs)
import crypto from "crypto";
import cf from "cloudfront";
var kvs=cf.kvs(),SG;
var C={"A":["avif","webp"],"F":["avif","webp","jpeg","png"],"H":[],"N":{"d":"d","f":"f","h":"h","p":"p","q":"q","r":"dpr","s":"s","t":"fit","w":"w"},"P":{"d":"d","dpr":"r","f":"f","fit":"t","format":"f","h":"h","height":"h","p":"p","preset":"p","q":"q","quality":"q","s":"s","w":"w","width":"w"},"Q":[75],"R":[[1,1],[4,3],[3,2],[16,9],[3,4]],"S":{},"W":[16,32,48,64,96,128,256,384,640,750,828,1080,1200,1920,2048,3840],"X":{"jpeg":"jpeg","jpg":"jpeg","png":"png","webp":"webp"},"g":"g57a4011","img":"not an image; transformable: .jpeg .jpg .png .webp","o":false,"p":"_sf","q":75,"r":4,"t":"cover","up":true,"v":828,"x":false};
var FITS=["cover","contain","fill","inside","outside"];
var FMT={auto:"auto",jpg:"jpeg",jpeg:"jpeg",png:"png",webp:"webp",avif:"avif"};
var MIME={"image/jpeg":"jpeg","image/png":"png","image/webp":"webp","image/avif":"avif"};
var own=(o,k)=>Object.prototype.hasOwnProperty.call(o,k);
var lc=s=>/[A-Z]/.test(s)?s.replace(/[A-Z]+/g,m=>m.toLowerCase()):s;
var trim=s=>/^[ \t]|[ \t]$/.test(s)?s.replace(/^[ \t]+|[ \t]+$/g,""):s;
var enc=k=>encodeURIComponent(k).replace(/%2F/g,"/");
var pInt=v=>/^[0-9]{1,5}$/.test(v)&&+v>0?+v:null;
var pQ=v=>{var x=pInt(v);return x&&x<=100?x:null;};
var pBox=v=>{
var m=/^([0-9]{1,5})(?:x([0-9]{1,5}))?$/.exec(v),a=m&&+m[1],b=m&&(m[2]===undefined?a:+m[2]);
return m&&a>0&&b>0?[a,b]:null;
};
var pFmt=v=>own(FMT,v)?FMT[v]:null;
var pFit=v=>FITS.indexOf(v)<0?null:v;
var pDpr=v=>{
var m=/^([0-9])(?:\.([0-9]{1,2}))?$/.exec(v),x=m&&+m[1]*100+ +((m[2]||"")+"00").slice(0,2);
return m&&x>=100&&x<=C.r*100?x:null;
};
async function handler(event){
var out;
try{
SG=null;
out=rewrite(event.request);
}catch(e){
console.log("scalefront viewer function: "+e);
return fail(400,"bad request");
}
if(SG&&!(await valid(SG[0],SG[1])))return fail(403,"missing or wrong signature");
return out;
}
async function valid(m,s){
var k,h,d=0,i;
if(!s)return false;
try{
k=await kvs.get("scalefront-"+s[0]);
}catch(e){
return false;
}
h=crypto.createHmac("sha256",k).update(m).digest("hex");
for(i=1;i<32;i++)d|=h.charCodeAt(i-1)^s.charCodeAt(i);
return d===0;
}
function signed(r,m,v){
var S=each(v,x=>/^[abo][0-9a-f]{31}$/.test(x)?x:null),s;
if(!S)return bad("s","expected a signature");
if((s=same(S))===null)return clash("s");
SG=[m,s];
return r;
}
function fail(code,msg){
return{
statusCode:code,statusDescription:code===414?"URI Too Long":code===403?"Forbidden":"Bad Request",
headers:{"cache-control":{value:"no-store"},"content-type":{value:"text/plain; charset=utf-8"}},
body:{encoding:"text",data:"scalefront: "+msg+"\n"}
};
}
function rewrite(r){
var uri=r.uri,qs=r.querystring||{},n=0,i,k;
var B={d:[],w:[],h:[],q:[],f:[],t:[],r:[],p:[],s:[]};
if(uri.length>4096)return fail(414,"URI longer than 4096 characters");
if(uri[0]!=="/")return fail(400,"URI must start with /");
for(k in qs){
var e=qs[k],m=e.multiValue,vs=m&&m.length?m.map(x=>x.value):[e.value],l=lc(k);
n+=vs.length;
if(own(C.P,l))B[C.P[l]]=B[C.P[l]].concat(vs);
}
if(n>64)return fail(400,"more than 64 query parameters");
var raw=uri.slice(1),key;
try{
key=decodeURIComponent(raw);
}catch(x){
return fail(400,"malformed %-escape in the path");
}
if(/[\x00-\x1f\x7f]/.test(key))return fail(400,"control character in the path");
var segs=key.split("/");
for(i=0;i<segs.length;i++)if(segs[i]==="."||segs[i]==="..")return fail(400,"dot segment in the path");
if(segs[0]===C.p){
if(!variant(segs)||enc(key)!==raw)return fail(400,"not a canonical variant key");
return signed(r,enc(segs.slice(1,-2).join("/"))+"/"+segs[segs.length-1],B.s);
}
if(!(B.w.length||B.h.length||B.d.length||B.q.length||B.f.length||B.p.length)){
if(C.x)return fail(403,"originals are not served (originals = \"deny\")");
r.uri="/"+enc(key);
return r;
}
var u=enc(key),src=source(segs,u);
if(typeof src!=="string")return fail(src[0],src[1]);
var D=each(B.d,pBox),Ws=each(B.w,pInt),Hs=each(B.h,pInt),Qs=each(B.q,pQ),
Fs=each(B.f,pFmt),Ts=each(B.t,pFit),Rs=each(B.r,pDpr),Ps=each(B.p,v=>own(C.S,v)?v:null),
num="expected a whole number 1-99999";
if(!D)return bad("d","expected N or WxH, whole numbers 1-99999");
if(!Ws)return bad("w",num);
if(!Hs)return bad("h",num);
if(!Qs)return bad("q","expected a whole number 1-100");
if(!Fs)return bad("f","expected auto, jpeg, png, webp or avif");
if(!Ts)return bad("t","expected cover, contain, fill, inside or outside");
if(!Rs)return bad("r","expected a number 1-"+C.r+" with at most 2 decimals");
if(!Ps)return bad("p","expected the name of a preset");
for(i=0;i<D.length;i++){
Ws.push(D[i][0]);
Hs.push(D[i][1]);
}
var w=same(Ws),h=same(Hs),q=same(Qs),f=same(Fs),t=same(Ts),d=same(Rs),p=same(Ps);
if(w===null)return clash("w");
if(h===null)return clash("h");
if(q===null)return clash("q");
if(f===null)return clash("f");
if(t===null)return clash("t");
if(d===null)return clash("r");
if(p===null)return clash("p");
if(d===undefined)d=100;
var W=0,H=0,T=C.t,Q,F,x,P=p===undefined?null:C.S[p],M=["d","w","h","q","t","r"];
if(P){
for(i=0;i<M.length;i++)if(B[M[i]].length)return fail(400,"preset "+p+" takes no "+C.N[M[i]]);
if(P[4]&&f!==undefined)return fail(400,"preset "+p+" takes no "+C.N.f);
W=P[0];
H=P[1];
T=P[2];
Q=P[3];
}else{
if(C.o)return fail(400,"only presets are enabled: use "+C.N.p+"=NAME");
if(w!==undefined){
x=Math.floor((w*d+99)/100);
if(!(W=snap(x,C.W,C.up)))return fail(400,"width "+x+" is not allowed");
}
if(w!==undefined&&h!==undefined){
for(i=0;i<C.R.length&&!H;i++)if(100*Math.abs(w*C.R[i][1]-h*C.R[i][0])<=h*C.R[i][0])H=rh(C.R[i],W);
if(!H)return fail(400,w+"x"+h+" is not an allowed shape; use a preset");
}else if(h!==undefined){
x=Math.floor((h*d+99)/100);
if(!(H=snap(x,C.H,C.up)))return fail(400,"height "+x+" is not allowed");
}
if(t!==undefined&&W&&H&&t!==C.t)return fail(400,"fit "+t+" needs a preset");
Q=snap(q===undefined?C.q:q,C.Q,true);
}
var n=false,Qm=Q;
if(P&&P[4])F=P[4];
else if(f!==undefined&&f!=="auto"){
if(C.F.indexOf(f)<0)return fail(400,"format "+f+" is not enabled");
F=f;
}else{
F=pick(r.headers,src,W>H?W:H);
n=true;
}
if(F==="png")Q=C.q;
r.uri="/"+C.p+"/"+u+"/"+C.g+"/w"+W+"-h"+H+"-"+T+"-q"+Q+"."+F;
r.querystring={};
return signed(r,u+"/w"+W+"-h"+H+"-"+T+"-q"+(n?Qm:Q)+"."+(n?"auto":F),B.s);
}
function bad(c,hint){
return fail(400,"invalid "+C.N[c]+": "+hint);
}
function clash(c){
return fail(400,"conflicting values for "+C.N[c]);
}
function each(a,p){
var out=[];
for(var i=0;i<a.length;i++){
var x=null;
if(a[i].length<=32){
try{
x=p(lc(decodeURIComponent(a[i])));
}catch(e){
x=null;
}
}
if(x===null)return null;
out.push(x);
}
return out;
}
function same(a){
for(var i=1;i<a.length;i++)if(a[i]!==a[0])return null;
return a[0];
}
function snap(x,L,up){
for(var i=0;i<L.length;i++)if(L[i]>=x)return up||L[i]===x?L[i]:0;
return up?L[L.length-1]:0;
}
function source(segs,u){
for(var i=0;i<segs.length;i++)if(segs[i]==="")return[400,"empty path segment"];
if(u.length-2*(u.split("%").length-1)>900)return[414,"key longer than 900 bytes"];
var last=segs[segs.length-1],dot=last.lastIndexOf("."),ext=dot<0?"":lc(last.slice(dot+1));
return own(C.X,ext)?C.X[ext]:[400,C.img];
}
function variant(s){
var n=s.length,m=n>=4&&/^w(0|[1-9][0-9]{0,4})-h(0|[1-9][0-9]{0,4})-([a-z]+)-q([1-9][0-9]{0,2})\.([a-z]+)$/.exec(s[n-1]);
if(!m||s[n-2]!==C.g)return false;
var rest=s.slice(1,n-2);
return+m[4]<=100&&produces(+m[1],+m[2],m[3],+m[4],m[5])&&rest[0]!==C.p&&
typeof source(rest,enc(rest.join("/")))==="string";
}
function produces(w,h,t,q,f){
for(var k in C.S){
var P=C.S[k];
if(P[0]===w&&P[1]===h&&P[2]===t&&(P[4]?P[4]===f:C.F.indexOf(f)>=0)&&q===(f==="png"?C.q:P[3]))return true;
}
if(C.o||C.F.indexOf(f)<0||f==="png"&&q!==C.q||C.Q.indexOf(q)<0||t!==C.t)return false;
return w?C.W.indexOf(w)>=0&&(!h||C.R.some(r=>rh(r,w)===h)):!h||C.H.indexOf(h)>=0;
}
function rh(r,w){
return Math.max(1,Math.floor((2*w*r[1]+r[0])/(2*r[0])));
}
function pick(hs,src,L){
var h=hs&&own(hs,"accept")?hs.accept:null,a="",seen={},best=src,bq=0,i,j;
if(h)a=h.multiValue&&h.multiValue.length?h.multiValue.map(x=>x.value).join(","):h.value;
if(a.length>4096)return src;
var parts=a.split(",");
for(i=0;i<parts.length;i++){
var ps=parts[i].split(";"),t=lc(trim(ps[0])),q=1000;
if(!own(MIME,t))continue;
for(j=1;j<ps.length;j++){
var p=trim(ps[j]);
if(lc(p.slice(0,2))==="q=")q=qv(p.slice(2));
}
if(!own(seen,MIME[t])||q<seen[MIME[t]])seen[MIME[t]]=q;
}
for(i=0;i<C.A.length;i++){
if(C.A[i]==="avif"&&!(L&&L<=C.v))continue;
if(own(seen,C.A[i])&&seen[C.A[i]]>bq){
best=C.A[i];
bq=seen[C.A[i]];
}
}
return best;
}
function qv(v){
var m=/^(?:(0)(?:\.([0-9]{0,3}))?|1(?:\.0{0,3})?)$/.exec(v);
return!m?0:m[1]?+((m[2]||"")+"000").slice(0,3):1000;
}
